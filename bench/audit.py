"""What the audit log costs a mutation: 1,000 audited catalog mutations and 1,000 bare
audit writes, on SQLite (embedded) and, with ``--pg URL``, on PostgreSQL; plus what
the lake's write markers and reconcile-on-open cost: re-opening a project and
touching its lake, and small lake writes (SQLite catalog).

Usage: ``python bench/audit.py [--n 1000] [--pg postgresql://postgres@127.0.0.1:5432/test]``.
With ``--pg`` the URL's database is used as the server to create a scratch database in.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from shipyard.platform import Platform


def _run(url: str | None, n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {"catalog": {"url": url}} if url else {}
        with Platform.open(Path(tmp), **overrides) as p:
            p.catalog.register_asset("table:bronze.bench")
            started = time.perf_counter()
            for i in range(n):
                p.catalog.update_asset("table:bronze.bench", description=f"d{i}")
            mutations = time.perf_counter() - started
            ctx = p.context
            started = time.perf_counter()
            for i in range(n):
                with ctx.db.begin() as conn:
                    ctx.audit.write(
                        conn,
                        principal="bench",
                        action="bench.write",
                        outcome="ok",
                        details={"i": i},
                    )
            writes = time.perf_counter() - started
    return {"mutation_ms": 1000 * mutations / n, "audit_write_ms": 1000 * writes / n}


def _pg(server: str, n: int) -> dict[str, float]:
    import psycopg

    name = f"shipyard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _run(f"{server.rsplit('/', 1)[0]}/{name}", n)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lake(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        with Platform.open(Path(tmp)) as p:
            for i in range(20):
                p.lake.write(f"silver.t{i}", [{"id": 1}])
            started = time.perf_counter()
            for i in range(n):
                p.lake.write("silver.w", [{"id": i}], batch_id=f"b{i}")
            writes = time.perf_counter() - started
        reopen = []
        for _ in range(20):
            started = time.perf_counter()
            with Platform.open(Path(tmp)) as p:
                p.lake.get_table("silver.t0")
            reopen.append(time.perf_counter() - started)
    return {"lake_write_ms": 1000 * writes / n, "open_and_lake_ms": 1000 * min(reopen)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--pg", default=None)
    args = ap.parse_args()
    print("sqlite", {k: round(v, 3) for k, v in _run(None, args.n).items()})
    print("lake", {k: round(v, 3) for k, v in _lake(args.n // 5).items()})
    if args.pg:
        print("postgres", {k: round(v, 3) for k, v in _pg(args.pg, args.n).items()})


if __name__ == "__main__":
    main()
