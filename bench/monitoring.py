"""Monitoring benchmark: a drift report over a window of the inference log.

A model version is registered from a 100k-row, 20-feature training table (so it is
profiled at registration); 100k predictions of a shifted population are written to
``datasets.inference_log`` as the serving path writes them (features as JSON and in
the typed ``feature_values`` map); then ``MonitoringService.run_drift`` is timed end
to end (an Arrow scan of the window, the features read from the typed column, numpy
scores them against the profile, the report is stored), and the scoring step alone on
arrays already in memory.

The same 100k rows are also logged for a second deployment as a log written before the
typed columns existed (JSON only, typed maps null), so the same run times the old path
(Arrow's JSON reader over the feature JSON) beside the new one.

Usage: ``python bench/monitoring.py [--rows 100000] [--features 20] [--repeat 5]``.
Writes ``bench/results/monitoring.json``. ``--in-memory 1000000x100`` times only
profiling a reference and scoring a window of that size, arrays in memory (the
issue's large case, without writing a log that size).
"""

from __future__ import annotations

import argparse
import json
import os
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
from shipyard.serving.predlog import LOG_TABLE, to_arrow, typed_features

TO_ARROW_S = TYPED_S = 0.0


def _log_rows(
    rows: int, names: list[str], rng: np.random.Generator, deployment: str = "bench"
) -> pa.Table:
    values = rng.normal(loc=0.3, size=(rows, len(names)))
    now = time.time()
    records = [
        {
            "request_id": f"r{i}",
            "row": 0,
            "ts": now - 60 + i * 30 / rows,
            "deployment": deployment,
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
    global TO_ARROW_S, TYPED_S  # the write path's cost, on the log writer's thread
    t0 = time.perf_counter()
    table = to_arrow(records)
    TO_ARROW_S = time.perf_counter() - t0
    t0 = time.perf_counter()
    typed_features([r["features"] for r in records])
    TYPED_S = time.perf_counter() - t0
    return table


def _json_only(table: pa.Table) -> pa.Table:
    """The rows as a log from before the typed columns: their maps are null."""
    for name in ("feature_values", "feature_labels"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pa.nulls(table.num_rows, table.schema.field(i).type))
    return table


def _timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return out


def in_memory(rows: int, features: int) -> dict[str, float]:
    """The issue's large case without the log: profile a ``rows`` x ``features`` reference,
    then score a shifted window of the same size against it (arrays in memory)."""
    import resource

    rng = np.random.default_rng(0)
    ref = np.asfortranarray(rng.normal(size=(rows, features)))  # columns contiguous
    cur = np.asfortranarray(rng.normal(loc=0.05, size=(rows, features)))
    t0 = time.perf_counter()
    profiles = [sketch.numeric_profile(f"f{j}", ref[:, j], 0) for j in range(features)]
    profile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    drifted = sum(
        drift.numeric_drift(profiles[j], cur[:, j], 0, Thresholds()).drifted
        for j in range(features)
    )
    score_s = time.perf_counter() - t0
    return {
        "rows": rows,
        "features": features,
        "profile_reference_s": round(profile_s, 2),
        "score_window_s": round(score_s, 2),
        "drifted": drifted,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--in-memory", metavar="ROWSxFEATURES", help="only profile+score arrays, e.g. 1000000x100"
    )
    args = ap.parse_args()
    if args.in_memory:
        rows, features = (int(x) for x in args.in_memory.lower().split("x"))
        print(json.dumps(in_memory(rows, features), indent=2))
        return
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
            for name in ("bench", "legacy"):
                p.serving.create_deployment(name, variants=[Variant(name="a", model="bench/1")])
            logged = _log_rows(args.rows, names, rng)
            p.lake.write(LOG_TABLE, logged, mode="append")
            legacy = _json_only(_log_rows(args.rows, names, rng, "legacy"))
            p.lake.write(LOG_TABLE, legacy, mode="append")

            end_to_end = _timed(
                lambda: p.monitoring.run_drift("bench", window_seconds=600), args.repeat
            )
            json_path = _timed(
                lambda: p.monitoring.run_drift("legacy", window_seconds=600), args.repeat
            )
            for name in ("bench", "legacy"):
                report = p.monitoring.run_drift(name, window_seconds=600)
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
        "run_drift_min_s": round(min(end_to_end), 3),
        "run_drift_json_log_median_s": round(statistics.median(json_path), 3),
        "run_drift_json_log_min_s": round(min(json_path), 3),
        "log_write_to_arrow_s": round(TO_ARROW_S, 3),
        "log_write_typed_features_part_s": round(TYPED_S, 3),
        "scoring_only_median_s": round(statistics.median(scoring), 4),
        "machine": f"{pyplatform.processor() or pyplatform.machine()}, python {sys.version.split()[0]}",
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    out = Path(__file__).parent / "results" / "monitoring.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
