"""Monitoring benchmark: a drift report over a window of the inference log.

A model version is registered from a 100k-row, 20-feature training table (so it is
profiled at registration); 100k predictions of a shifted population are written to
``datasets.inference_log`` as the serving path writes them (features as JSON); then
``MonitoringService.run_drift`` is timed end to end (DuckDB reads the window and
extracts the 20 features from the JSON, numpy scores them against the profile, the
report is stored), and the scoring step alone on arrays already in memory.

Usage: ``python bench/monitoring.py [--rows 100000] [--features 20] [--repeat 5]``.
Writes ``bench/results/monitoring.json``.
"""

from __future__ import annotations

import argparse
import json
import platform as pyplatform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

from shipyard.monitoring import drift, sketch
from shipyard.monitoring.models import Thresholds
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.predlog import LOG_TABLE, to_arrow


def _log_rows(rows: int, names: list[str], rng: np.random.Generator) -> pa.Table:
    values = rng.normal(loc=0.3, size=(rows, len(names)))
    now = time.time()
    records = [
        {
            "request_id": f"r{i}",
            "row": 0,
            "ts": now - 60 + i * 30 / rows,
            "deployment": "bench",
            "deployment_version": 1,
            "variant": "a",
            "shadow": False,
            "model": "bench",
            "model_version": 1,
            "entity_key": None,
            "routing_key": f"r{i}",
            "features": dict(zip(names, values[i].tolist(), strict=True)),
            "prediction": float(values[i, 0] > 0),
            "latency_ms": 1.0,
            "error": None,
        }
        for i in range(rows)
    ]
    return to_arrow(records)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    names = [f"f{i}" for i in range(args.features)]
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "shipyard.yaml").write_text("# bench\n")
        with Platform.open(project) as p:
            frame = pd.DataFrame(rng.normal(size=(args.rows, args.features)), columns=names)
            p.lake.write("gold.bench_train", pa.Table.from_pandas(frame, preserve_index=False))
            t0 = time.perf_counter()
            with p.tracking.start_run(experiment="bench") as run:
                run.log_input("table:gold.bench_train")
                model = LogisticRegression().fit(frame[:2000], (frame.f0[:2000] > 0).astype(int))
                run.log_model(model, "model")
            p.registry.register_model("bench", source=f"runs:/{run.id}/model")
            register_s = time.perf_counter() - t0
            p.serving.create_deployment("bench", variants=[Variant(name="a", model="bench/1")])
            p.lake.write(LOG_TABLE, _log_rows(args.rows, names, rng), mode="append")

            end_to_end = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                report = p.monitoring.run_drift("bench", window_seconds=600)
                end_to_end.append(time.perf_counter() - t0)
            assert report.rows == args.rows and report.status == "drift", report.status

            ref = p.monitoring.get_profile("model", "bench", 1)
            window = {n: rng.normal(loc=0.3, size=args.rows) for n in names}
            scoring = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                for n, v in window.items():
                    drift.numeric_drift(ref.features[n], v, 0, Thresholds())
                scoring.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for n in names:
                sketch.numeric_profile(n, frame[n].to_numpy(), 0)
            profile_s = time.perf_counter() - t0

    result = {
        "rows": args.rows,
        "features": args.features,
        "register_with_profile_s": round(register_s, 3),
        "profile_only_s": round(profile_s, 3),
        "run_drift_median_s": round(statistics.median(end_to_end), 3),
        "run_drift_max_s": round(max(end_to_end), 3),
        "scoring_only_median_s": round(statistics.median(scoring), 4),
        "machine": f"{pyplatform.processor() or pyplatform.machine()}, python {sys.version.split()[0]}",
    }
    out = Path(__file__).parent / "results" / "monitoring.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
