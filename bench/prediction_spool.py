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

4. **freshness** (``--serve SECONDS``): a real ``shipyard serve`` (default settings:
   spool every 0.5 s, flush job every 5 s, its embedded scheduler and worker) answers
   ~20 predictions/s over HTTP; this process polls the Delta table and reports, per
   prediction, the time from its answer to its row being in ``datasets.inference_log``
   (p50/p95/max), and the HTTP predict latency beside it.

Usage: ``python bench/prediction_spool.py [--blocks 200] [--rows 500] [--pg URL] [--serve 30]``.
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


def freshness(seconds: float) -> dict[str, Any]:
    import sys
    import threading

    import httpx

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from tests.contract.serving.suite import build_served_model
    from tests.servers import served_project

    from shipyard.serving import Variant

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "serve"
        project.mkdir()
        (project / "shipyard.yaml").write_text("")
        with Platform.open(project) as p:
            build_served_model(p, n=50)
            p.serving.create_deployment(
                "churn",
                variants=[Variant(name="a", model="churn@live")],
                feature_service="churn",
                entity_keys=["customer_id"],
            )
            p.security.create_principal("pat", role="predictor")
            token = p.security.create_token(principal="pat").token
        answered: dict[str, float] = {}
        predict_ms: list[float] = []
        lags: list[float] = []
        stop = threading.Event()
        with served_project(project) as url, Platform.open(project) as reader:

            def client() -> None:
                headers = {"Authorization": f"Bearer {token}"}
                with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                    i = 0
                    while not stop.is_set():
                        t = time.perf_counter()
                        r = http.post(
                            "/api/v1/deployments/churn/predict",
                            json={"inputs": [{"customer_id": i % 50}]},
                        )
                        predict_ms.append((time.perf_counter() - t) * 1000)
                        answered[r.json()["request_id"]] = time.monotonic()
                        i += 1
                        time.sleep(0.05)

            thread = threading.Thread(target=client)
            thread.start()
            seen: set[str] = set()
            end = time.monotonic() + seconds
            while time.monotonic() < end + 12:  # then let the last flush land
                if time.monotonic() > end:
                    stop.set()
                if reader.lake.storage.exists(LOG_TABLE):
                    ids = reader.lake.storage.open(LOG_TABLE).to_pyarrow_table(
                        columns=["request_id"]
                    )
                    now = time.monotonic()
                    for rid in set(ids.column("request_id").to_pylist()) - seen:
                        seen.add(rid)
                        if rid in answered:
                            lags.append(now - answered[rid])
                if stop.is_set() and len(seen) >= len(answered):
                    break
                time.sleep(0.1)
            thread.join()
    return {
        "predictions": len(answered),
        "in_log": len(seen),
        "answer_to_log_s": {
            "p50": round(statistics.median(lags), 2),
            "p95": round(pct(lags, 0.95), 2),
            "max": round(max(lags), 2),
        },
        "http_predict_ms": {"p50": round(statistics.median(predict_ms), 2)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--blocks", type=int, default=200)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    ap.add_argument("--serve", type=float, default=0, help="seconds of the freshness phase")
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
    if args.serve:
        out["freshness"] = freshness(args.serve)
    print(json.dumps(out, indent=2))
    dest = Path(__file__).parent / "results" / "prediction_spool.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
