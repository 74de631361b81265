from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.platform import Platform


def test_sklearn_autolog_logs_params_metrics_and_model(platform: Platform) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(50), "b": rng.random(50)})
    y = (X.a > 0.5).astype(int)
    with platform.tracking.start_run(experiment="auto") as run:
        run.autolog()
        make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
        RandomForestRegressor(n_estimators=3).fit(X, X.b)
    info = platform.tracking.get_run(run.id)
    assert info.params["estimator_class"] == "sklearn.pipeline.Pipeline"
    assert "training_roc_auc" in info.metrics and 0 <= info.metrics["training_accuracy"] <= 1
    assert info.params["n_estimators_2"] == "3" and "training_r2_score_2" in info.metrics
    names = {f.path for f in platform.tracking.list_artifacts(run.id).items}
    assert names == {"model", "model_2"}  # nested fits inside the pipeline were not logged
    assert len([k for k in info.params if k.startswith("estimator_class")]) == 2
    # autologging stops with the run
    LogisticRegression().fit(X, y)
    assert platform.tracking.get_run(run.id).params == info.params
