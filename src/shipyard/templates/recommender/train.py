"""Training: a point-in-time correct training set, a tracked run, a registered version."""

from __future__ import annotations

from typing import Any

from shipyard.platform import Platform

MODEL = "recommender"
ALIAS = "live"
PARAMS = {"max_iter": 60, "learning_rate": 0.1, "max_depth": 3, "random_state": 0}
KEYS = ("user_id", "item_id", "event_timestamp", "interacted")


def training_set(p: Platform) -> Any:
    labels = p.lake.sql(
        "SELECT CAST(user_id AS BIGINT) AS user_id, CAST(item_id AS BIGINT) AS item_id, "
        "CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, "
        "CAST(interacted AS INTEGER) AS interacted "
        "FROM bronze.labels ORDER BY event_timestamp, user_id, item_id"
    ).to_pandas()
    return p.features.create_training_set("recommend_train", labels, feature_service="recommend")


def train(p: Platform) -> int:
    """Train, track and register; points ``recommender@live`` at the new version."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    ts = training_set(p)
    df = ts.to_pandas()
    features = [c for c in df.columns if c not in KEYS]
    x, y = df[features].astype("float64"), df["interacted"].astype(int)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    with p.tracking.start_run(experiment="recommender", run_name="will-interact") as run:
        run.log_input(ts)
        run.log_params(PARAMS)
        model = HistGradientBoostingClassifier(**PARAMS).fit(x_train, y_train)
        run.log_metric("auc", float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])))
        run.log_model(model, "model", input_example=x_test.head(5), predict_method="predict_proba")
    version = p.registry.register_model(MODEL, source=f"runs:/{run.id}/model").version
    p.registry.set_alias(MODEL, ALIAS, version)
    return int(version)
