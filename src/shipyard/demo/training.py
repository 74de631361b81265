"""A training function for the demo's churn training set (``docs/training.md``).

Run it as a job (``shipyard train run shipyard.demo.training:train_churn -t
churn_train``) or search its params (``shipyard train tune ... --space``); the
project lists this module in ``jobs.modules``.
"""

from __future__ import annotations

from typing import Any

# imported with the module, before the job runs: the job's CPU limit (threadpoolctl)
# then sizes scikit-learn's OpenMP pool too
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from shipyard.demo.definitions import FEATURES
from shipyard.pipelines.functions import job

#: scikit-learn's defaults, the baseline a search must beat.
DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.1,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 20,
    "l2_regularization": 0.0,
}
#: Boosting rounds, grown in steps so that a pruner can stop a poor trial early.
ROUNDS, STEPS = 60, 4


@job
def train_churn(ctx: Any) -> dict[str, float]:
    """Gradient-boosted trees on the churn set: AUC on a fixed validation quarter."""
    params = {**DEFAULTS, **ctx.params}
    log_model = bool(params.pop("log_model", True))
    df = ctx.data()
    x = df[list(FEATURES)].astype("float64")
    y = df["churned"].astype(int)
    x_train, x_valid, y_train, y_valid = train_test_split(
        x, y, test_size=0.25, random_state=0, stratify=y
    )
    model = HistGradientBoostingClassifier(
        **params, max_iter=ROUNDS // STEPS, warm_start=True, early_stopping=False, random_state=0
    )
    auc = 0.5
    for step in range(1, STEPS + 1):
        model.set_params(max_iter=step * ROUNDS // STEPS)
        model.fit(x_train, y_train)
        auc = float(roc_auc_score(y_valid, model.predict_proba(x_valid)[:, 1]))
        ctx.report(auc, step)  # a search's pruner may stop the trial here
    if log_model:
        ctx.log_model(model, input_example=x_train.head(5), predict_method="predict_proba")
    return {"auc": auc, "train_rows": float(len(x_train))}
