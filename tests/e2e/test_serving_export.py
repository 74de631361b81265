"""ONNX export of scikit-learn, LightGBM and XGBoost versions, with parity and lineage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shipyard.cli.main import run
from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from tests.contract.serving.suite import FEATURES, build_served_model


def _register(p: Platform, model: Any, frame: Any) -> int:
    with p.tracking.start_run(experiment="churn", run_name=type(model).__name__) as run:
        run.log_model(
            model, "model", input_example=frame[FEATURES].head(20), predict_method="predict_proba"
        )
    return p.registry.register_model("churn", source=f"runs:/{run.id}/model").version


def _check(p: Platform, version: int, frame: Any, tmp_path: Path) -> None:
    import onnxruntime as ort

    r = p.serving.export_model(
        f"churn/{version}",
        holdout=frame[FEATURES].iloc[200:],
        tolerance=1e-4,
        output=str(tmp_path / f"v{version}.onnx"),
    )
    assert r.rows_checked == 100 and r.max_abs_diff <= 1e-4
    # the file runs with onnxruntime alone
    session = ort.InferenceSession(Path(r.path).read_bytes(), providers=["CPUExecutionProvider"])
    x = frame[FEATURES].to_numpy(dtype=np.float32)[:10]
    probs = np.asarray(session.run(None, {session.get_inputs()[0].name: x})[1])[:, 1]
    local = p.registry.load_model(f"models:/churn/{version}").predict(frame[FEATURES].head(10))
    assert np.allclose(probs, local, atol=1e-4)
    asset = p.catalog.get_asset(r.asset)
    assert asset.properties["max_abs_diff"] == r.max_abs_diff and r.artifact
    graph = p.catalog.lineage(r.asset, direction="upstream", depth=1)
    assert any(
        str(e.source) == f"model:churn@{version}" and e.operation == "export" for e in graph.edges
    )


def test_sklearn_lightgbm_and_xgboost_export_with_parity(project_dir: Path, tmp_path: Path) -> None:
    import lightgbm

    xgboost = pytest.importorskip("xgboost")
    with Platform.open(project_dir) as p:
        frame = build_served_model(p)
        y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
        lgb = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1)
        v_lgb = _register(p, lgb.fit(frame[FEATURES], y), frame)
        xgb = xgboost.XGBClassifier(n_estimators=20, max_depth=3)
        v_xgb = _register(p, xgb.fit(frame[FEATURES], y), frame)
        for version in (1, v_lgb, v_xgb):
            _check(p, version, frame, tmp_path)
        with pytest.raises(InvalidArgument, match="not exported"):
            p.serving.export_model("churn/1", tolerance=-1.0)
        with pytest.raises(NotFound):
            p.catalog.get_asset("model_export:nope.onnx")
        with pytest.raises(InvalidArgument, match="unknown export format"):
            p.serving.export_model("churn/1", format="tflite")


def test_models_export_from_the_cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Platform.open(project_dir) as p:
        build_served_model(p, n=100)
    capsys.readouterr()
    code = run(
        ["-C", str(project_dir), "models", "export", "churn@live", "--format", "onnx", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["model_version"] == "churn/1" and Path(result["path"]).exists()
    assert result["rows_checked"] == 5  # the input example logged with the model
