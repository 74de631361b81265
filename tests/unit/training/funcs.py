"""Training functions the training tests run (this module is listed in ``jobs.modules``)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shipyard.pipelines import job
from shipyard.platform import Platform

FEATURES = ["f0", "f1", "f2", "f3"]


def build_training_set(p: Platform, n: int = 400, seed: int = 0) -> Any:
    """gold.customer_features -> feature view/service -> training set ``churn_train``."""
    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f: rng.normal(size=n) for f in FEATURES})
    ids = np.arange(n, dtype=np.int64)
    ts = datetime.now(UTC) - timedelta(days=2)
    p.lake.write(
        "gold.customer_features",
        pa.table(
            {
                "customer_id": ids,
                "event_ts": pa.array([ts] * n, pa.timestamp("us", tz="UTC")),
                **{f: frame[f].to_numpy() for f in FEATURES},
            }
        ),
    )
    view = FeatureView(
        name="customer_features",
        entities=["customer"],
        source="gold.customer_features",
        timestamp_field="event_ts",
        ttl=timedelta(days=30),
        features=[Feature(f, "float64") for f in FEATURES],
    )
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="churn", features=[view]),
        ]
    )
    noise = rng.normal(scale=0.8, size=n)
    labels = pd.DataFrame(
        {
            "customer_id": ids,
            "event_timestamp": pd.Timestamp(datetime.now(UTC) - timedelta(days=1)),
            "churned": ((frame.f0 + frame.f1 - frame.f2 + noise) > 0).astype(int),
        }
    )
    return p.features.create_training_set("churn_train", labels, feature_service="churn")


@job
def train_lgbm(ctx: Any) -> dict[str, float]:
    """LightGBM on the training set; AUC on a held-out quarter; the model logged."""
    import lightgbm
    from sklearn.metrics import roc_auc_score

    df = ctx.data()
    x, y = df[FEATURES].astype("float64"), df["churned"].astype(int)
    cut = int(len(df) * 0.75)
    params = {"verbose": -1, "n_estimators": 30, **ctx.params}
    model = lightgbm.LGBMClassifier(**params).fit(x[:cut], y[:cut])
    print("trained on", cut, "rows")
    auc = float(roc_auc_score(y[cut:], model.predict_proba(x[cut:])[:, 1]))
    ctx.log_model(model, input_example=x.head(5), predict_method="predict_proba")
    return {"auc": auc}


@job
def quadratic(ctx: Any) -> dict[str, float]:
    """No data: the loss of ``(x - 2)^2``, reported per step so a pruner can stop it."""
    x = float(ctx.params["x"])
    for step in range(3):
        ctx.report((x - 2) ** 2 + (3 - step) * 0.01, step)
    return {"loss": (x - 2) ** 2}


@job
def explode(ctx: Any) -> None:
    print("about to fail")
    raise RuntimeError("boom in training")


@job
def hog_memory(ctx: Any) -> None:
    _ = bytearray(1024 * 1024 * 1024)  # 1 GiB: over the job's memory limit


@job
def sleepy(ctx: Any) -> dict[str, float]:
    time.sleep(float(ctx.params.get("seconds", 5)))
    return {"pid": float(os.getpid())}


@job
def hang_once(ctx: Any) -> dict[str, float]:
    """The first trial anywhere writes its process id to ``ctx.params["pid_file"]`` and
    hangs (until the test kills its process); every other trial is ``quadratic``."""
    marker = str(ctx.params["pid_file"])
    try:
        os.close(os.open(marker + ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        x = float(ctx.params["x"])
        return {"loss": (x - 2) ** 2}
    with open(marker + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(marker + ".tmp", marker)
    time.sleep(30)
    return {"loss": 1e9}


@job
def train_xgb(ctx: Any) -> dict[str, float]:
    """XGBoost via ``ctx.fit_xgboost``: data-parallel on Ray Train when the job asks for
    ``workers``, in this process otherwise; AUC on the last quarter; the model logged."""
    params = {"objective": "binary:logistic", "eval_metric": "auc", "max_depth": 3, "eta": 0.3}
    fit = ctx.fit_xgboost(
        params,
        label="churned",
        features=FEATURES,
        num_boost_round=int(ctx.params.get("rounds", 20)),
    )
    ctx.log_model(fit.booster, input_example=fit.example)
    return {"auc": fit.metrics["valid_auc"]}


@job
def stamp(ctx: Any) -> dict[str, float]:
    """When the function started and ended (wall clock), ``seconds`` apart."""
    t0 = time.time()
    time.sleep(float(ctx.params.get("seconds", 0.3)))
    return {"t0": t0, "t1": time.time()}
