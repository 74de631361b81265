"""Native XGBoost and LightGBM Boosters (``xgboost.train``/``lightgbm.train``): logged with
their flavor, registered, loaded, served and exported to ONNX with the parity check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.platform import Platform
from shipyard.serving.models import Variant

FEATURES = ["f0", "f1", "f2"]


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({f: rng.normal(size=300) for f in FEATURES})
    df["y"] = (df.f0 + df.f1 > 0).astype(int)
    return df


def _booster(kind: str, objective: str, frame: pd.DataFrame) -> Any:
    x, y = frame[FEATURES], frame["y"] if objective == "binary" else frame.f0 * 2
    if kind == "xgboost":
        import xgboost

        obj = "binary:logistic" if objective == "binary" else "reg:squarederror"
        params = {"objective": obj, "max_depth": 3}
        return xgboost.train(params, xgboost.DMatrix(x, label=y), num_boost_round=8)
    import lightgbm

    params = {"objective": objective, "verbose": -1}
    return lightgbm.train(params, lightgbm.Dataset(x, label=y), num_boost_round=8)


@pytest.mark.parametrize(
    ("kind", "objective"),
    [
        ("xgboost", "binary"),
        ("lightgbm", "binary"),
        ("xgboost", "regression"),
        ("lightgbm", "regression"),
    ],
)
def test_native_booster_logs_registers_loads_and_exports(
    platform: Platform, frame: pd.DataFrame, tmp_path: Path, kind: str, objective: str
) -> None:
    p = platform
    booster = _booster(kind, objective, frame)
    with p.tracking.start_run(experiment="boost") as run:
        logged = run.log_model(booster, "model", input_example=frame[FEATURES].head(5))
    assert logged.flavor == kind
    assert [c["name"] for c in logged.signature["inputs"]] == FEATURES  # type: ignore[index]
    local = p.tracking.download_artifacts(run.id, "model")
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == f"mlflow.{kind}"
    assert mlmodel["flavors"][kind]["model_class"].endswith("Booster")

    mv = p.registry.register_model("boost", source=f"runs:/{run.id}/model")
    loaded = p.registry.load_model(f"models:/boost/{mv.version}")
    assert type(loaded.model).__name__ == "Booster"
    got = loaded.predict(frame[FEATURES].head(20))
    if kind == "xgboost":
        import xgboost

        want = booster.predict(xgboost.DMatrix(frame[FEATURES].head(20)))
    else:
        want = booster.predict(frame[FEATURES].head(20))
    assert np.allclose(got, want)

    r = p.serving.export_model(
        f"boost/{mv.version}", holdout=frame[FEATURES].iloc[100:], output=str(tmp_path / "m.onnx")
    )
    assert r.rows_checked == 200 and r.max_abs_diff <= 1e-4
    assert r.converter == f"onnxmltools.convert_{kind}"


def test_native_booster_is_served(platform: Platform, frame: pd.DataFrame) -> None:
    p = platform
    booster = _booster("lightgbm", "binary", frame)
    with p.tracking.start_run(experiment="boost") as run:
        run.log_model(booster, "model", input_example=frame[FEATURES].head(5))
    mv = p.registry.register_model("boost", source=f"runs:/{run.id}/model")
    p.serving.create_deployment(
        "boost",
        variants=[Variant(name="a", model=f"boost/{mv.version}", weight=100)],
        request_fields={f: "float64" for f in FEATURES},
    )
    rows = frame[FEATURES].head(3).to_dict("records")
    out = p.serving.predict("boost", rows)
    want = booster.predict(frame[FEATURES].head(3))
    assert np.allclose([float(x) for x in out.predictions], want)
