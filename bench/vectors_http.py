"""HTTP query latency of ``POST /api/v1/vectors/{index}/query`` on loopback, A/B.

One project (an HNSW index over ``--n`` clustered ``--dim``-dimensional vectors) is
served by one ``shipyard serve`` process per ``--src`` folder (a copy of ``src/`` of
another commit, e.g. ``git archive HEAD~1 src | tar -x -C /tmp/before``; default: the
code this script imports). Sequential requests go to each server in turn, in
``--rounds`` alternating rounds, so that on a shared machine both see the same load;
p50/p99 of the query and of ``GET /api/v1/health`` (the same trip doing nothing) are
reported per server, with the load average before and after.

Usage: ``python bench/vectors_http.py [--n 20000] [--queries 2000] [--src DIR ...]``
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa


def loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def make_project(root: Path, n: int, d: int) -> tuple[str, np.ndarray]:
    from shipyard.platform import Platform
    from shipyard.vectors import VectorIndexSpec

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((1000, d)).astype(np.float32)
    x = centers[rng.integers(0, 1000, n)] + 0.3 * rng.standard_normal((n, d)).astype(np.float32)
    p = Platform.open(root)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), d)
    p.lake.write("gold.items", pa.table({"id": np.arange(n), "embedding": vectors}))
    spec = VectorIndexSpec(
        name="items",
        table="gold.items",
        id_column="id",
        vector_column="embedding",
        dimension=d,
        metric="l2",
        params={"m": 16, "ef_construction": 64, "ef_search": 16},
    )
    p.vectors.apply([spec])
    p.vectors.build("items")
    token = p.security.create_token().token
    p.close()
    return token, x


def start(project: Path, src: str | None) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    cmd = [sys.executable, "-m", "shipyard", "-C", str(project), "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def wait_up(http: httpx.Client) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if http.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=2000, help="per server, over all rounds")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--src", action="append", help="a src/ folder to serve from (repeat)")
    args = ap.parse_args()
    sources: list[str | None] = list(args.src or [None])
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        token, x = make_project(project, args.n, args.dim)
        bodies = [{"vector": v.tolist(), "k": 10} for v in x[: args.queries]]
        servers = [start(project, src) for src in sources]
        clients = [
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
            for _, url in servers
        ]
        took: list[dict[str, list[float]]] = [{"query": [], "health": []} for _ in sources]
        try:
            for http in clients:
                wait_up(http)
                for body in bodies[:100]:  # warm: the first query loads the index
                    http.post("/api/v1/vectors/items/query", json=body).raise_for_status()
            before = loadavg()
            per = len(bodies) // args.rounds
            for r in range(args.rounds):
                for http, times in zip(clients, took, strict=True):
                    for body in bodies[r * per : (r + 1) * per]:
                        t = time.perf_counter()
                        http.get("/api/v1/health").raise_for_status()
                        times["health"].append(time.perf_counter() - t)
                        t = time.perf_counter()
                        http.post("/api/v1/vectors/items/query", json=body).raise_for_status()
                        times["query"].append(time.perf_counter() - t)
            after = loadavg()
        finally:
            for http in clients:
                http.close()
            for proc, _ in servers:
                proc.terminate()
                proc.wait(timeout=30)
    print(f"{args.n} x {args.dim}, k=10, {per * args.rounds} requests per server")
    print(f"load average before {before}, after {after}")
    for src, times in zip(sources, took, strict=True):
        print(f"{src or 'this checkout'}: {summary(times)}")


def summary(times: dict[str, Any]) -> str:
    q, h = (np.asarray(times[k]) * 1000 for k in ("query", "health"))
    return (
        f"query p50 {np.percentile(q, 50):.2f} ms p99 {np.percentile(q, 99):.2f} ms; "
        f"health p50 {np.percentile(h, 50):.2f} ms"
    )


if __name__ == "__main__":
    main()
