from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from shipyard.tracking.packaging.loaded import load_model_dir
from shipyard.tracking.packaging.mlmodel import save_model


@pytest.fixture
def xy() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"f1": rng.random(80), "f2": rng.random(80)})
    return X, (X.f1 + X.f2 > 1).astype(int)


def _roundtrip(
    model: object,
    tmp_path: Path,
    X: pd.DataFrame,
    method: str = "predict_proba",
    flavor: str | None = None,
) -> np.ndarray:
    info = save_model(
        model,
        tmp_path / "m",
        artifact_path="model",
        input_example=X.head(3),
        predict_method=method,
        flavor=flavor,
    )
    loaded = load_model_dir(tmp_path / "m")
    assert loaded.flavor == info["shipyard"]["flavor"]
    return loaded.predict(X.head(5))


def test_sklearn_mlmodel_is_mlflow_shaped(xy, tmp_path: Path) -> None:
    X, y = xy
    save_model(
        LogisticRegression().fit(X, y),
        tmp_path / "m",
        artifact_path="model",
        input_example=X.head(3),
        predict_method="predict_proba",
    )
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert '"name": "f1"' in mlmodel["signature"]["inputs"]
    reqs = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in reqs)
    assert all("==" in r for r in reqs)


def test_lightgbm_xgboost_onnx_pyfunc(xy, tmp_path: Path) -> None:
    import lightgbm
    import xgboost

    X, y = xy
    lgb = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    assert _roundtrip(lgb, tmp_path / "lgb", X).shape == (5,)
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, y), num_boost_round=3
    )
    assert _roundtrip(booster, tmp_path / "lgbb", X, method="predict").shape == (5,)
    xgb = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    assert _roundtrip(xgb, tmp_path / "xgb", X).shape == (5,)

    from skl2onnx import to_onnx

    onx = to_onnx(
        LogisticRegression().fit(X, y), X.to_numpy(np.float32)[:1], options={"zipmap": False}
    )
    probs = _roundtrip(onx, tmp_path / "onnx", X)
    assert probs.shape == (5,) and ((probs >= 0) & (probs <= 1)).all()

    def rule(df: pd.DataFrame) -> np.ndarray:
        return (df["f1"] > 0.5).to_numpy().astype(float)

    out = _roundtrip(rule, tmp_path / "fn", X, method="__call__")
    assert np.array_equal(out, (X.head(5).f1 > 0.5).astype(float).to_numpy())


def test_unsupported_model_and_method(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cannot log"):
        save_model(object(), tmp_path / "m", artifact_path="model")
    with pytest.raises(InvalidArgument, match="predict_method"):
        save_model(
            LogisticRegression(), tmp_path / "m2", artifact_path="model", predict_method="explode"
        )


def test_corrupt_model_file_is_a_typed_error(xy, platform: Platform) -> None:
    X, y = xy
    with platform.tracking.start_run(experiment="e") as run:
        run.log_model(LogisticRegression().fit(X, y), "model")
    mv = platform.registry.register_model("m", source=f"runs:/{run.id}/model")
    folder = platform.registry.download_model(mv.uri)
    (folder / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(InvalidArgument, match="cannot be loaded"):
        platform.registry.load_model("models:/m/1")


def test_log_model_registers_under_a_second(xy, platform: Platform) -> None:
    import time

    X, y = xy
    model = LogisticRegression().fit(X, y)
    with platform.tracking.start_run(experiment="e") as run:
        start = time.perf_counter()
        run.log_model(model, "model", input_example=X.head(3), registered_model_name="fast")
        assert time.perf_counter() - start < 1.0
    assert platform.registry.get_model_version("fast", 1).run_id == run.id
