"""Training: a point-in-time correct training set, a tracked run, a registered version."""

from __future__ import annotations

from typing import Any

from shipyard.platform import Platform

MODEL = "churn"
ALIAS = "live"
PARAMS = {"max_iter": 100, "learning_rate": 0.05, "max_depth": 4, "random_state": 0}


def training_set(p: Platform) -> Any:
    labels = p.lake.sql(
        "SELECT customer_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, churned "
        "FROM bronze.labels ORDER BY event_timestamp, customer_id"
    ).to_pandas()
    return p.features.create_training_set("churn_train", labels, feature_service="churn")


def train(p: Platform) -> int:
    """Train, track and register; points ``churn@live`` at the new version and returns it."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    ts = training_set(p)
    df = ts.to_pandas()
    features = [c for c in df.columns if c not in ("customer_id", "event_timestamp", "churned")]
    x, y = df[features].astype("float64"), df["churned"].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    with p.tracking.start_run(experiment="churn", run_name="hist-gbt") as run:
        run.log_input(ts)
        run.log_params(PARAMS)
        model = HistGradientBoostingClassifier(**PARAMS).fit(x_train, y_train)
        run.log_metric("auc", float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])))
        run.log_model(model, "model", input_example=x_test.head(5), predict_method="predict_proba")
    version = p.registry.register_model(MODEL, source=f"runs:/{run.id}/model").version
    p.registry.set_alias(MODEL, ALIAS, version)
    return int(version)
