"""The lean scikit-learn scorer: used only where it agrees with the registry's model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.serving.fastpath import fast_scorer
from shipyard.tracking.packaging.loaded import LoadedModel
from tests.unit.serving.conftest import FEATURES

SIGNATURE = {"inputs": [{"name": f, "type": "double"} for f in FEATURES]}


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 8)), columns=FEATURES)
    return X, (X.f0 > X.f1).astype(int)


def test_pipeline_scores_from_a_matrix_like_the_registry_model() -> None:
    X, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    loaded = LoadedModel(
        model, flavor="sklearn", predict_method="predict_proba", signature=SIGNATURE
    )
    found = fast_scorer(loaded)
    assert found is not None
    scorer, columns = found
    assert columns == FEATURES
    fast = np.asarray(scorer(X.to_numpy()))[:, 1]
    assert np.allclose(fast, loaded.predict(X))
    assert hasattr(model, "feature_names_in_")  # the registry's model is left untouched


def test_models_that_need_a_dataframe_keep_the_registry_path() -> None:
    X, y = _data()
    by_name = ColumnTransformer([("s", StandardScaler(), ["f0", "f1"])])
    model = make_pipeline(by_name, LogisticRegression()).fit(X, y)
    loaded = LoadedModel(
        model, flavor="sklearn", predict_method="predict_proba", signature=SIGNATURE
    )
    assert fast_scorer(loaded) is None
    strings = LoadedModel(
        LogisticRegression().fit(X, y),
        flavor="sklearn",
        predict_method="predict",
        signature={"inputs": [{"name": f, "type": "string"} for f in FEATURES]},
    )
    assert fast_scorer(strings) is None
