"""Lineage query 5 hops deep on a 100k-node graph (issue #16: p95 < 100 ms on PostgreSQL).

Usage: ``python bench/lineage_graph.py --pg postgresql://postgres@127.0.0.1:5432/test
[--nodes 100000] [--queries 200]``. A scratch database is created on that server and
dropped after. The graph is a forest of binary trees of depth 16 (every node has
up to two upstream edges), loaded with bulk inserts; each query walks 5 hops
upstream from a random leaf through ``CatalogService.lineage`` (what the HTTP
route and ``shipyard catalog lineage`` call).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from shipyard._internal.clock import utcnow
from shipyard.catalog.tables import asset_versions, assets, lineage_edges
from shipyard.platform import Platform


def _load(p: Platform, n: int) -> list[str]:
    now = utcnow()
    ids = [uuid.uuid4().hex for _ in range(n)]
    with p.context.db.begin() as conn:
        for start in range(0, n, 5000):
            chunk = range(start, min(n, start + 5000))
            conn.execute(
                assets.insert(),
                [
                    {
                        "id": ids[i],
                        "kind": "dataset",
                        "name": f"bench/{i}",
                        "version": 1,
                        "owner": "default",
                        "description": "",
                        "properties": {},
                        "created_by": "bench",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in chunk
                ],
            )
            conn.execute(
                asset_versions.insert(),
                [
                    {
                        "asset_id": ids[i],
                        "version": 1,
                        "properties": {},
                        "created_by": "bench",
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )
            edges = [
                {
                    "source_id": ids[(i - 1) // 2],
                    "source_version": 1,
                    "target_id": ids[i],
                    "target_version": 1,
                    "operation": "bench",
                    "created_by": "bench",
                    "created_at": now,
                }
                for i in chunk
                if i > 0
            ]
            conn.execute(lineage_edges.insert(), edges)
    return [f"dataset:bench/{i}" for i in range(n // 2, n)]  # the leaves


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", required=True)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    import psycopg

    name = f"shipyard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{args.pg.rsplit('/', 1)[0]}/{name}"
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            Platform.open(Path(tmp), catalog={"url": url}) as p,
        ):
            started = time.perf_counter()
            leaves = _load(p, args.nodes)
            print(f"loaded {args.nodes:,} nodes in {time.perf_counter() - started:.1f} s")
            rng = random.Random(0)
            times = []
            for _ in range(args.queries):
                ref = rng.choice(leaves)
                t0 = time.perf_counter()
                graph = p.catalog.lineage(ref, depth=5)
                times.append((time.perf_counter() - t0) * 1000)
                assert len(graph.nodes) == 6, len(graph.nodes)
            print(
                f"lineage 5 hops upstream, {args.queries} queries: "
                f"p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms, "
                f"max {max(times):.1f} ms"
            )
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
