"""Data-parallel XGBoost on Ray Train against plain in-process XGBoost, same rows.

A fresh project gets a synthetic training set (``ROWS`` rows, ``N_FEATURES`` float
features, a binary label) in the lake; then, ``REPEAT`` times each:

1. ``bare``: ``xgboost.train`` on the rows already in memory (``nthread=2``), the fit only.
2. ``inprocess``: ``p.training.run(fn)`` where ``fn`` calls ``ctx.fit_xgboost`` with no
   ``workers``: reads the Delta version, fits here (``nthread`` = the job's 2 CPUs).
3. ``ray``: the same function with ``resources={"cpus": 1, "workers": 2}`` on a local
   ``ray.init(num_cpus=2)``: Ray Train's ``XGBoostTrainer``, 2 workers of 1 CPU, each
   reading its shard of the Parquet files as a Ray Dataset.

For 2 and 3 it reports the wall time of the whole tracked job and the fit alone (the run's
``shipyard.training.fit_seconds`` tag: ``xgboost.train`` / ``XGBoostTrainer.fit()``),
and the validation AUC (the same last 25% of rows on both paths).

Usage: ``python bench/ray_train.py`` (knobs: ``ROWS``=200000, ``N_FEATURES``=16,
``ROUNDS``=50, ``REPEAT``=3). Writes ``bench/results/ray_train.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = str(ROOT / "src")  # Ray's worker processes import shipyard

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from shipyard.platform import Platform  # noqa: E402

ROWS = int(os.environ.get("ROWS", "200000"))
N_FEATURES = int(os.environ.get("N_FEATURES", "16"))
ROUNDS = int(os.environ.get("ROUNDS", "50"))
REPEAT = int(os.environ.get("REPEAT", "3"))
FEATURES = [f"f{i}" for i in range(N_FEATURES)]
PARAMS = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 6, "eta": 0.2}


def build(p: Platform) -> pd.DataFrame:
    """gold.bench_features -> feature view/service -> training set ``bench_train``."""
    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, N_FEATURES))
    ids = np.arange(ROWS, dtype=np.int64)
    ts = datetime.now(UTC) - timedelta(days=2)
    p.lake.write(
        "gold.bench_features",
        pa.table(
            {
                "id": ids,
                "event_ts": pa.array([ts] * ROWS, pa.timestamp("us", tz="UTC")),
                **{f: x[:, i] for i, f in enumerate(FEATURES)},
            }
        ),
    )
    view = FeatureView(
        name="bench_features",
        entities=["thing"],
        source="gold.bench_features",
        timestamp_field="event_ts",
        ttl=timedelta(days=30),
        features=[Feature(f, "float64") for f in FEATURES],
    )
    p.features.apply(
        [
            Entity(name="thing", join_keys=["id"]),
            view,
            FeatureService(name="bench", features=[view]),
        ]
    )
    signal = x[:, 0] + x[:, 1] * x[:, 2] - np.abs(x[:, 3]) + rng.normal(scale=0.7, size=ROWS)
    labels = pd.DataFrame(
        {
            "id": ids,
            "event_timestamp": pd.Timestamp(datetime.now(UTC) - timedelta(days=1)),
            "y": (signal > 0).astype(int),
        }
    )
    p.features.create_training_set("bench_train", labels, feature_service="bench")
    ref = p.training.data_ref("bench_train")
    assert ref is not None
    return ref.arrow([*FEATURES, "y"]).to_pandas()


def train(ctx: Any) -> dict[str, float]:
    fit = ctx.fit_xgboost(PARAMS, label="y", features=FEATURES, num_boost_round=ROUNDS)
    return {"auc": fit.metrics["valid_auc"]}


def bare(frame: pd.DataFrame) -> tuple[float, float]:
    import xgboost
    from sklearn.metrics import roc_auc_score

    cut = len(frame) - int(len(frame) * 0.25)
    train_rows, valid = frame[:cut], frame[cut:]
    start = time.perf_counter()
    booster = xgboost.train(
        {**PARAMS, "nthread": 2},
        xgboost.DMatrix(train_rows[FEATURES], label=train_rows["y"]),
        num_boost_round=ROUNDS,
    )
    seconds = time.perf_counter() - start
    auc = roc_auc_score(valid["y"], booster.predict(xgboost.DMatrix(valid[FEATURES])))
    return seconds, float(auc)


def tracked(p: Platform, resources: dict[str, Any]) -> dict[str, float]:
    start = time.perf_counter()
    out = p.training.run(train, training_set="bench_train", resources=resources)
    wall = time.perf_counter() - start
    run = p.tracking.get_run(out["run_id"])
    return {
        "wall": wall,
        "fit": float(run.tags["shipyard.training.fit_seconds"]),
        "auc": out["metrics"]["auc"],
        "world_size": float(run.tags["shipyard.training.world_size"]),
    }


def summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    keys = samples[0].keys()
    return {
        **{f"median_{k}": statistics.median(s[k] for s in samples) for k in keys},
        "samples": samples,
    }


def main() -> None:
    import ray

    out: dict[str, Any] = {
        "rows": ROWS,
        "features": N_FEATURES,
        "rounds": ROUNDS,
        "load_average_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as d, Platform.open(Path(d)) as p:
        frame = build(p)
        out["bare"] = summary(
            [dict(zip(("fit", "auc"), bare(frame), strict=True)) for _ in range(REPEAT)]
        )
        out["inprocess"] = summary([tracked(p, {"cpus": 2}) for _ in range(REPEAT)])
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        out["ray_init_seconds"] = time.perf_counter() - start
        try:
            out["ray"] = summary([tracked(p, {"cpus": 1, "workers": 2}) for _ in range(REPEAT)])
        finally:
            ray.shutdown()
    out["load_average_end"] = os.getloadavg()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "ray_train.json").write_text(json.dumps(out, indent=2))
    print(json.dumps({k: v for k, v in out.items() if k not in ("bare", "inprocess", "ray")}))
    for k in ("bare", "inprocess", "ray"):
        print(k, {m: round(v, 4) for m, v in out[k].items() if m.startswith("median")})


if __name__ == "__main__":
    main()
