"""Vector search: the pgvector backend beside the embedded (faiss) one, same data, same run.

Both through the backend interface (``PgVectorIndex``, ``FaissIndex``): build time, and
single-thread queries/s and recall@10 against exact search at each ``ef_search``,
unfiltered and with a 1% filter. pgvector runs on ``--url`` or, by default, on a
PostgreSQL 16 + pgvector 0.6.2 started here with ``pgserver`` (a dev dependency).

Usage: ``python bench/vectors_pgvector.py [--n 100000] [--dim 128] [--queries 300]
[--url postgresql://...]``
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from vectors import EF_CONSTRUCTION, M, exact, make_data, recall

from shipyard.vectors.backends.base import VectorIndex
from shipyard.vectors.models import VectorIndexSpec

EFS = (40, 64, 128)


def spec(d: int, ef: int) -> VectorIndexSpec:
    return VectorIndexSpec(
        name="bench",
        table="gold.bench",
        id_column="id",
        vector_column="v",
        dimension=d,
        metric="l2",
        filterable=("shard",),
        params={"m": M, "ef_construction": EF_CONSTRUCTION, "ef_search": ef},
    )


def measure(name: str, make: Any, x: np.ndarray, q: np.ndarray) -> None:
    n, d = x.shape
    ids, shard = list(range(n)), (np.arange(n) % 100).tolist()
    truth, ftruth = exact(x, q), exact(x, q, rows=np.flatnonzero(np.arange(n) % 100 == 7))
    ix: VectorIndex = make(spec(d, EFS[0]))
    started = time.perf_counter()
    ix.build(ids, x, {"shard": shard})
    ix.save(1)
    print(f"{name:9s} build {time.perf_counter() - started:7.1f} s", flush=True)
    for ef in EFS:
        ix = make(spec(d, ef))
        ix.load()
        for label, flt, want in (("all", None, truth), ("1%", {"shard": 7}, ftruth)):
            started = time.perf_counter()
            res = [ix.query(v, 10, flt) for v in q]
            qps = len(q) / (time.perf_counter() - started)
            full = all(len(r.ids) == 10 for r in res)
            methods = sorted({r.method for r in res})
            print(
                f"{name:9s} ef={ef:<4d} {label:3s} recall@10 {recall([r.ids for r in res], want):.3f}"
                f" {qps:7.0f} q/s  exactly k: {full} {methods}",
                flush=True,
            )
        ix.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--url", help="a PostgreSQL with pgvector (default: start pgserver)")
    args = ap.parse_args()
    import faiss

    from shipyard.vectors.backends.faiss_hnsw import FaissIndex
    from shipyard.vectors.backends.pgvector import PgVectorIndex

    faiss.omp_set_num_threads(1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # still stop the server
    x, q = make_data(args.n, args.dim, args.queries, "clustered")
    print(f"{args.n} x {args.dim} float32, {args.queries} queries, k=10, M={M}, efc=128")
    tmp = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    server = None
    try:
        url = args.url
        if url is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import pgserver
            server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            url = server.get_uri()
            # the graph in memory, and one build thread as for faiss
            server.psql(
                "ALTER SYSTEM SET maintenance_work_mem = '1GB';"
                "ALTER SYSTEM SET max_parallel_maintenance_workers = 0; SELECT pg_reload_conf();"
            )
            print(server.psql("SHOW server_version;").split("\n")[2].strip(), "+ pgvector")
        measure("faiss", lambda s: FaissIndex(s, tmp / "bench.npz"), x, q)
        measure("pgvector", lambda s: PgVectorIndex(s, url), x, q)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
