"""``run_drift``'s window read, before (whole window in memory) and after (record batches
into ``StreamingDrift``, ``monitoring/window_stream.py``), on the same inference log.

A log of ``--rows`` requests x ``--features`` numeric features (typed ``feature_values``
maps, as the log writer stores them, 1/10 of the features shifted) is written once to
a temporary project; then each mode runs in its own child process, so its peak RSS
(``ru_maxrss``) is its own: ``before`` is ``window.scan`` + ``window.only_model`` +
``window.features`` + scores (what ``run_drift`` did), ``after`` is
``window_stream.served`` + ``batches`` + ``WindowDrift``. Both print the same scores
(checked). ``peak_rss_mb`` is the child's peak; ``added_mb`` subtracts the child's RSS
after opening the platform and the log (imports, catalog), i.e. what the window costs.

Usage: ``python bench/drift_window.py [--rows 1000000] [--features 20]``.
Writes ``bench/results/drift_window.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

CHUNK = 200_000


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _chunk(rows: int, names: list[str], rng: np.random.Generator, start: int) -> pa.Table:
    from shipyard.serving.predlog import LOG_SCHEMA

    k = len(names)
    values = rng.normal(size=(rows, k))
    values[:, : max(1, k // 10)] += 0.3
    offsets = np.arange(rows + 1, dtype=np.int32) * k
    keys = pa.DictionaryArray.from_arrays(
        pa.array(np.tile(np.arange(k, dtype=np.int32), rows)), pa.array(names)
    ).cast(pa.string())
    fv = pa.MapArray.from_arrays(pa.array(offsets), keys, pa.array(values.ravel()))
    fl = pa.MapArray.from_arrays(
        pa.array(np.zeros(rows + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.string())
    )
    now = datetime.now(UTC)
    ts = pa.array(np.full(rows, int((now.timestamp() - 60) * 1e6)), pa.timestamp("us", tz="UTC"))
    cols = {
        "request_id": pa.array([f"r{start + i}" for i in range(rows)]),
        "row": pa.array(np.zeros(rows, np.int32)),
        "ts": ts,
        "deployment": pa.array(["bench"] * rows),
        "deployment_version": pa.array(np.ones(rows, np.int64)),
        "variant": pa.array(["a"] * rows),
        "shadow": pa.array(np.zeros(rows, bool)),
        "model": pa.array(["bench"] * rows),
        "model_version": pa.array(np.ones(rows, np.int64)),
        "entity_key": pa.nulls(rows, pa.string()),
        "routing_key": pa.nulls(rows, pa.string()),
        "features": pa.array(["{}"] * rows),  # the JSON copy; typed rows are read from maps
        "prediction": pa.array(values[:, 0]),
        "prediction_json": pa.nulls(rows, pa.string()),
        "latency_ms": pa.array(np.ones(rows)),
        "error": pa.nulls(rows, pa.string()),
        "feature_values": fv,
        "feature_labels": fl,
    }
    return pa.table(cols, schema=LOG_SCHEMA)


def _reference(names: list[str]) -> dict:
    from shipyard.monitoring import sketch

    rng = np.random.default_rng(1)
    return {n: sketch.numeric_profile(n, rng.normal(size=100_000), 0) for n in names}


def child(project: str, mode: str, features: int) -> None:
    from shipyard.monitoring import window, window_stream
    from shipyard.monitoring.models import Thresholds
    from shipyard.monitoring.service import MonitoringService
    from shipyard.platform import Platform
    from shipyard.serving.predlog import LOG_TABLE

    names = [f"f{j}" for j in range(features)]
    reference = _reference(names)
    limits = Thresholds(psi=0.2, js=0.1, ks=0.1, pvalue=0.01, min_rows=100)
    end = datetime.now(UTC)
    start = end - timedelta(minutes=10)
    with Platform.open(Path(project)) as p:
        dt = p.lake.storage.open(LOG_TABLE)
        dt.to_pyarrow_dataset()
        base = _rss_mb()
        t0 = time.perf_counter()
        if mode == "before":
            table = window.scan(dt, "bench", start, end)
            served = window.served_most(table)
            assert served is not None
            found = MonitoringService._feature_drift(
                reference, window.only_model(table, *served), limits
            )
            rows = table.num_rows
        else:
            rows, by_model = window_stream.served(dt, "bench", start, end)
            served = window_stream.served_most(by_model)
            assert served is not None
            counters = window_stream.WindowDrift(reference)
            for part, batch in window_stream.batches(dt, "bench", start, end, *served):
                counters.add(part, batch)
            found = counters.report(limits)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "mode": mode,
                "rows": rows,
                "seconds": round(seconds, 2),
                "peak_rss_mb": round(peak),
                "added_mb": round(peak - base),
                "drifted": sum(f.drifted for f in found),
                "scores": [[f.feature, f.psi, f.ks, f.chi2, f.n_current] for f in found],
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--child", nargs=2, metavar=("PROJECT", "MODE"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.features)
        return
    from shipyard.platform import Platform
    from shipyard.serving.predlog import LOG_TABLE

    names = [f"f{j}" for j in range(args.features)]
    rng = np.random.default_rng(0)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shipyard.yaml").write_text("# bench\n")
        with Platform.open(Path(tmp)) as p:
            for start in range(0, args.rows, CHUNK):
                chunk = _chunk(min(CHUNK, args.rows - start), names, rng, start)
                p.lake.write(LOG_TABLE, chunk, mode="append")
        out = {}
        for mode in ("before", "after"):
            cmd = [sys.executable, __file__, "--features", str(args.features)]
            got = subprocess.run(
                [*cmd, "--child", tmp, mode], capture_output=True, text=True, check=True
            )
            out[mode] = json.loads(got.stdout.strip().splitlines()[-1])
    same = out["before"].pop("scores") == out["after"].pop("scores")
    result = {
        "rows": args.rows,
        "features": args.features,
        "batch_rows": 65_536,
        "identical_scores": same,
        "loadavg_before": [round(x, 1) for x in load],
        "loadavg_after": [round(x, 1) for x in os.getloadavg()],
        **out,
    }
    print(json.dumps(result, indent=2))
    path = Path(__file__).parent / "results" / "drift_window.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
