"""The prediction spool (ADR 0052) beside the direct Delta append it replaced.

A server process hands its buffered predictions to a writer every
``serving.log_flush_seconds``. Before ADR 0052 that writer appended each buffer to the
Delta table of ``datasets.inference_log``; now it puts the buffer in the prediction
spool (metadata database) and a scheduled job appends the spool to the table.

On the same generated blocks (``--blocks`` buffers of ``--rows`` predictions with 20
numeric features each, what the serving runtime emits), it times:

1. **direct**: one Delta append per block (the old path; per block p50/p99);
2. **spool put**: one spool insert per block (the new path on the server; p50/p99);
3. **flush**: the scheduled job's work, every spooled block into the table (total s,
   rows/s, Delta commits made).

Each on the embedded SQLite catalog and, with ``--pg URL``, on PostgreSQL.

Usage: ``python bench/prediction_spool.py [--blocks 200] [--rows 500] [--pg URL]``.
Writes ``bench/results/prediction_spool.json``; print the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from shipyard.platform import Platform
from shipyard.serving.predlog import LOG_TABLE, lake_writer, to_arrow


def blocks(n: int, rows: int) -> list[pa.Table]:
    now = time.time()
    out = []
    for b in range(n):
        records = [
            {
                "request_id": uuid.uuid4().hex,
                "row": 0,
                "ts": now,
                "deployment": "churn",
                "deployment_version": 1,
                "variant": "a",
                "shadow": False,
                "model": "churn",
                "model_version": 1,
                "entity_key": f"customer_id={b * rows + i}",
                "routing_key": None,
                "features": {f"f{k}": float(i + k) for k in range(20)},
                "prediction": 0.5,
                "latency_ms": 1.0,
                "error": None,
            }
            for i in range(rows)
        ]
        out.append(to_arrow(records))
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def timed(fn: Any, items: list[Any]) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run(catalog: str | None, data: list[pa.Table]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("direct", "spool"):
            project = Path(tmp) / mode
            project.mkdir()
            (project / "shipyard.yaml").write_text("")
            overrides: dict[str, Any] = {"catalog": {"url": catalog}} if catalog else {}
            with Platform.open(project, **overrides) as p:
                write = lake_writer(lambda p=p: p.lake)
                if mode == "direct":
                    ms = timed(lambda t, w=write: w(t, uuid.uuid4().hex), data)
                    result["direct_append_ms"] = _summary(ms)
                    continue
                spool = p.serving.runtimes.spool
                ms = timed(lambda t, s=spool: s.put(t, uuid.uuid4().hex), data)
                result["spool_put_ms"] = _summary(ms)
                t0 = time.perf_counter()
                moved = spool.flush(write)
                took = time.perf_counter() - t0
                commits = p.lake.storage.open(LOG_TABLE).version() + 1
                result["flush"] = {
                    "rows": moved,
                    "seconds": round(took, 3),
                    "rows_per_s": round(moved / took),
                    "delta_commits": commits,
                }
    return result


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(ms), 2),
        "p99": round(pct(ms, 0.99), 2),
        "total_s": round(sum(ms) / 1000, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=200)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    args = ap.parse_args()
    data = blocks(args.blocks, args.rows)
    out: dict[str, Any] = {
        "blocks": args.blocks,
        "rows_per_block": args.rows,
        "load": os.getloadavg(),
        "sqlite": run(None, data),
    }
    if args.pg:
        out["postgresql"] = run(args.pg, data)
    print(json.dumps(out, indent=2))
    dest = Path(__file__).parent / "results" / "prediction_spool.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
