"""Shipyard's drift against Evidently's data-drift preset on the same data, same run
(#14: "≥ 10x faster than Evidently's data-drift preset, peak memory ≤ its memory").

Evidently is NOT a Shipyard dependency: it lives in its own virtualenv (``--evidently-python``,
default ``/tmp/evidently-venv/bin/python``; made with ``python -m venv /tmp/evidently-venv &&
/tmp/evidently-venv/bin/pip install evidently==0.7.23 "pandas<3"`` — evidently 0.7.23
imports a pandas 2 internal, so pandas 3 breaks it). The reference and the current
window (``--rows`` x ``--features`` float64, the first tenth of the features shifted) are
written once to Parquet; each side then runs in a fresh process that reads them, so the
peak RSS of each is its own:

- Shipyard: profile the reference (``sketch.profile_table``: quantile bins), then score
  the window through ``StreamingDrift`` (binning, PSI, JS, chi-square, KS per feature);
- Evidently: ``Report([DataDriftPreset()]).run(current_data, reference_data)``.

Reading the Parquet is timed apart from the drift work on both sides.

Usage: ``python bench/evidently_compare.py [--rows 100000] [--features 20]``. Writes
``bench/results/evidently_compare.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SHIPYARD_SIDE = r"""
import json, resource, sys, time
import pyarrow.parquet as pq
from shipyard.monitoring import sketch
from shipyard.monitoring.models import Thresholds
from shipyard.monitoring.stream import StreamingDrift
t = time.perf_counter()
ref, cur = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
read_s = time.perf_counter() - t
t = time.perf_counter()
profile = sketch.profile_table(ref)
acc = StreamingDrift(profile)
for batch in cur.to_batches(max_chunksize=50_000):
    acc.add(batch)
drifted = sum(f.drifted for f in acc.report(Thresholds()))
drift_s = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"read_s": read_s, "drift_s": drift_s, "drifted": drifted, "peak_rss_mb": rss}))
"""

EVIDENTLY_SIDE = r"""
import json, resource, sys, time
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
t = time.perf_counter()
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
read_s = time.perf_counter() - t
t = time.perf_counter()
snap = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
body = snap.dict()
drift_s = time.perf_counter() - t
count = [m for m in body["metrics"] if m["metric_name"].startswith("DriftedColumnsCount")]
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"read_s": read_s, "drift_s": drift_s, "drifted": count[0]["value"]["count"],
                  "peak_rss_mb": rss}))
"""


def _write(path: Path, rows: int, features: int, shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cols = {f"f{j}": rng.normal(size=rows) for j in range(features)}
    for j in range(max(1, features // 10)):
        cols[f"f{j}"] += shift
    pq.write_table(pa.table(cols), path)


def _side(python: str, code: str, ref: Path, cur: Path) -> dict[str, float]:
    env = {**os.environ}
    done = subprocess.run(
        [python, "-c", code, str(ref), str(cur)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--evidently-python", default="/tmp/evidently-venv/bin/python")
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = Path(tmp) / "ref.parquet", Path(tmp) / "cur.parquet"
        _write(ref, args.rows, args.features, 0.0, 1)
        _write(cur, args.rows, args.features, 0.3, 2)
        ours = _side(sys.executable, SHIPYARD_SIDE, ref, cur)
        theirs = _side(args.evidently_python, EVIDENTLY_SIDE, ref, cur)
    out = {
        "rows": args.rows,
        "features": args.features,
        "shipyard": ours,
        "evidently": theirs,
        "speedup": round(theirs["drift_s"] / ours["drift_s"], 1),
        "memory_ratio": round(ours["peak_rss_mb"] / theirs["peak_rss_mb"], 2),
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "evidently_compare.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
