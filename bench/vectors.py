"""Vector search: the platform's query path beside bare faiss and bare usearch, same data,
same run.

For each: build time and resident-memory growth; single-thread queries/s at the smallest
beam (``ef``) that reaches recall@10 >= 0.95 against exact search; and for the platform,
filtered queries at 1% selectivity (recall@10, exactly-k, queries/s).

Data: ``--data clustered`` (default; embedding-like: a mixture of 1,000 Gaussians) or
``--data random`` (i.i.d. Gaussian: no structure, the worst case for any graph index).

Usage: ``python bench/vectors.py [--n 100000] [--dim 128] [--data clustered|random]
[--queries 1000]``; ``--n 1000000`` for the 1M run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

EFS = (16, 32, 64, 128, 256, 512, 1024)
M, EF_CONSTRUCTION = 16, 128


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_data(n: int, d: int, nq: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind == "random":
        return (
            rng.standard_normal((n, d), dtype=np.float32),
            rng.standard_normal((nq, d), dtype=np.float32),
        )
    centers = rng.standard_normal((1000, d), dtype=np.float32)
    x = centers[rng.integers(0, 1000, n)] + 0.35 * rng.standard_normal((n, d), dtype=np.float32)
    q = x[rng.integers(0, n, nq)] + 0.2 * rng.standard_normal((nq, d), dtype=np.float32)
    return x.astype(np.float32), q.astype(np.float32)


def exact(x: np.ndarray, q: np.ndarray, k: int = 10, rows: np.ndarray | None = None) -> np.ndarray:
    sub = x if rows is None else x[rows]
    norms = (sub * sub).sum(1)
    out = []
    for i in range(0, len(q), 64):
        top = np.argsort(norms[None, :] - 2 * q[i : i + 64] @ sub.T, axis=1)[:, :k]
        out.append(top if rows is None else rows[top])
    return np.vstack(out)


def recall(found: list[list[Any]], truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def sweep(
    name: str, search: Callable[[np.ndarray, int], list[Any]], q: np.ndarray, truth: np.ndarray
) -> dict[str, Any]:
    """The smallest ef reaching recall 0.95: its recall and single-thread queries/s."""
    for ef in EFS:
        started = time.perf_counter()
        found = [search(v, ef) for v in q]
        qps = len(q) / (time.perf_counter() - started)
        r = recall(found, truth)
        print(f"  {name:9s} ef={ef:<5d} recall@10={r:.3f} {qps:8.0f} q/s", flush=True)
        if r >= 0.95:
            return {"ef": ef, "recall": r, "qps": qps}
    return {"ef": EFS[-1], "recall": r, "qps": qps}


def bare_faiss(x: np.ndarray, q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    import faiss

    before, started = rss_mib(), time.perf_counter()
    index = faiss.IndexHNSWFlat(x.shape[1], M)
    index.hnsw.efConstruction = EF_CONSTRUCTION
    index.add(x)
    out = {"build_s": time.perf_counter() - started, "mem_mib": rss_mib() - before}

    def search(v: np.ndarray, ef: int) -> list[Any]:
        index.hnsw.efSearch = ef
        return index.search(v.reshape(1, -1), 10)[1][0].tolist()

    return {**out, **sweep("faiss", search, q, truth)}


def bare_usearch(x: np.ndarray, q: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    from usearch.index import Index

    before, started = rss_mib(), time.perf_counter()
    index = Index(
        ndim=x.shape[1], metric="l2sq", dtype="f32", connectivity=M, expansion_add=EF_CONSTRUCTION
    )
    index.add(np.arange(len(x)), x, threads=1)
    out = {"build_s": time.perf_counter() - started, "mem_mib": rss_mib() - before}

    def search(v: np.ndarray, ef: int) -> list[Any]:
        index.expansion_search = ef
        return index.search(v, 10, threads=1).keys.tolist()

    return {**out, **sweep("usearch", search, q, truth)}


def platform(x: np.ndarray, q: np.ndarray, truth: np.ndarray, tmp: Path) -> dict[str, Any]:
    from shipyard.platform import Platform
    from shipyard.vectors import VectorIndexSpec

    n, d = x.shape
    p = Platform.open(tmp)
    shard = np.arange(n) % 100  # shard == s: 1% of the rows
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)
    p.lake.write("gold.items", pa.table({"id": np.arange(n), "embedding": vectors, "shard": shard}))
    out: dict[str, Any] = {}
    for ef in EFS:
        spec = VectorIndexSpec(
            name="items",
            table="gold.items",
            id_column="id",
            vector_column="embedding",
            dimension=d,
            metric="l2",
            filterable=("shard",),
            params={"m": M, "ef_construction": EF_CONSTRUCTION, "ef_search": ef},
        )
        p.vectors.apply([spec])  # only ef_search changes after the first: rebuilt
        before, started = rss_mib(), time.perf_counter()
        p.vectors.build("items")
        if not out:
            out = {"build_s": time.perf_counter() - started, "mem_mib": rss_mib() - before}
        started = time.perf_counter()
        found = [p.vectors.query("items", v, k=10).ids for v in q]
        qps = len(q) / (time.perf_counter() - started)
        r = recall(found, truth)
        print(f"  platform  ef={ef:<5d} recall@10={r:.3f} {qps:8.0f} q/s", flush=True)
        if r >= 0.95:
            break
    out.update(ef=ef, recall=r, qps=qps)
    out["interleaved"] = interleaved(p, x, q, ef)
    rows = np.flatnonzero(shard == 7)
    ftruth = exact(x, q, rows=rows)
    started = time.perf_counter()
    res = [p.vectors.query("items", v, k=10, filter={"shard": 7}) for v in q]
    out["filtered_qps"] = len(q) / (time.perf_counter() - started)
    out["filtered_recall"] = recall([r.ids for r in res], ftruth)
    out["filtered_exactly_k"] = all(len(r.ids) == 10 for r in res)
    out["filtered_method"] = sorted({r.method for r in res})
    token = p.security.create_token().token
    p.close()
    out["http"] = http_latency(tmp, token, q)
    return out


def http_latency(project: Path, token: str, q: np.ndarray) -> dict[str, float]:
    """``POST /api/v1/vectors/items/query`` on loopback against ``shipyard serve`` (its own
    process, so client and server do not share a GIL): p50/p99 of sequential requests,
    beside the health probe's p50 (the same trip with no work)."""
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "shipyard", "-C", str(project), "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            health = []
            for _ in range(len(q)):
                started = time.perf_counter()
                http.get("/api/v1/health").raise_for_status()
                health.append(time.perf_counter() - started)
            bodies = [{"vector": v.tolist(), "k": 10} for v in q]
            for body in bodies[:100]:  # warm: the first query loads the index file
                http.post("/api/v1/vectors/items/query", json=body).raise_for_status()
            took = []
            for body in bodies:
                started = time.perf_counter()
                http.post("/api/v1/vectors/items/query", json=body).raise_for_status()
                took.append(time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = np.asarray(took) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "health_p50_ms": float(np.percentile(np.asarray(health) * 1000, 50)),
    }


def interleaved(p: Any, x: np.ndarray, q: np.ndarray, ef: int, rounds: int = 7) -> dict[str, float]:
    """Platform vs bare faiss (its own graph, same M/efConstruction/ef) in alternating
    rounds, best of each: on a shared machine the load moves between sequential runs.
    Also per CPU second (``thread_time``), which time spent waiting for a core does not
    inflate."""
    import faiss

    bare = faiss.IndexHNSWFlat(x.shape[1], M)
    bare.hnsw.efConstruction = EF_CONSTRUCTION
    bare.add(x)
    bare.hnsw.efSearch = ef
    svc = p.vectors
    contenders = {
        "platform": lambda v: svc.query("items", v, k=10),
        "faiss": lambda v: bare.search(v.reshape(1, -1), 10),
    }
    best = {f"{name}{unit}": 0.0 for name in contenders for unit in ("", "_cpu")}
    for _ in range(rounds):
        for name, search in contenders.items():
            wall, cpu = time.perf_counter(), time.thread_time()
            for v in q:
                search(v)
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            best[name] = max(best[name], len(q) / wall)
            best[f"{name}_cpu"] = max(best[f"{name}_cpu"], len(q) / cpu)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--data", choices=["clustered", "random"], default="clustered")
    ap.add_argument("--no-usearch", action="store_true", help="Skip bare usearch.")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)  # single-thread build and queries for every contender
    x, q = make_data(args.n, args.dim, args.queries, args.data)
    truth = exact(x, q)
    print(
        f"{args.n} x {args.dim} float32 ({args.data}), {args.queries} queries, k=10, "
        f"HNSW M={M} efConstruction={EF_CONSTRUCTION}, 1 thread",
        flush=True,
    )
    results = {"faiss": bare_faiss(x, q, truth)}
    if not args.no_usearch:
        results["usearch"] = bare_usearch(x, q, truth)
    with tempfile.TemporaryDirectory() as tmp:
        results["platform"] = platform(x, q, truth, Path(tmp))
    print()
    for name, r in results.items():
        print(
            f"{name:9s} build {r['build_s']:6.1f} s  +{r['mem_mib']:5.0f} MiB  ef={r['ef']:<5d}"
            f" recall@10 {r['recall']:.3f}  {r['qps']:7.0f} q/s"
        )
    pf = results["platform"]
    il = pf["interleaved"]
    print(
        f"interleaved at ef={pf['ef']} (best of 7 alternating rounds): platform "
        f"{il['platform']:.0f} q/s, bare faiss {il['faiss']:.0f} q/s = "
        f"{il['platform'] / il['faiss']:.0%}; per CPU second: {il['platform_cpu']:.0f} vs "
        f"{il['faiss_cpu']:.0f} = {il['platform_cpu'] / il['faiss_cpu']:.0%}"
    )
    print(
        f"filtered 1%: recall@10 {pf['filtered_recall']:.3f}, exactly k: "
        f"{pf['filtered_exactly_k']}, {pf['filtered_qps']:.0f} q/s ({pf['filtered_method']})"
    )
    print(
        f"HTTP POST /api/v1/vectors/items/query on loopback: p50 {pf['http']['p50_ms']:.2f} ms, "
        f"p99 {pf['http']['p99_ms']:.2f} ms (GET /api/v1/health p50 "
        f"{pf['http']['health_p50_ms']:.2f} ms: the machine's floor)"
    )


if __name__ == "__main__":
    main()
