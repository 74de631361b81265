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


#: The demo's own model (shipyard.demo.pipeline.train): a histogram gradient-boosted tree.
DEMO_PARAMS = {"max_iter": 150, "learning_rate": 0.05, "max_depth": 4, "random_state": 0}


def test_tree_ensembles_export_with_parity(project_dir: Path, tmp_path: Path) -> None:
    """Issue #12 item 2: scikit-learn's tree ensembles export (HistGradientBoosting
    failed inside skl2onnx with a 931 KB message), classifiers and regressors."""
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
    )

    with Platform.open(project_dir) as p:
        frame = build_served_model(p)
        y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
        for model in (
            HistGradientBoostingClassifier(**DEMO_PARAMS),
            GradientBoostingClassifier(n_estimators=30, max_depth=3),
            RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0),
        ):
            _check(p, _register(p, model.fit(frame[FEATURES], y), frame), frame, tmp_path)
        # LightGBM as the last step of a scikit-learn pipeline (onnxmltools' converter
        # registered with skl2onnx)
        import lightgbm
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        pipe = make_pipeline(
            StandardScaler(), lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1)
        )
        _check(p, _register(p, pipe.fit(frame[FEATURES], y), frame), frame, tmp_path)
        reg = HistGradientBoostingRegressor(max_iter=50).fit(frame[FEATURES], y * 3.0 + frame.f1)
        with p.tracking.start_run(experiment="churn") as run:
            run.log_model(reg, "model", input_example=frame[FEATURES].head(20))
        mv = p.registry.register_model("amount", source=f"runs:/{run.id}/model")
        r = p.serving.export_model(
            f"amount/{mv.version}",
            holdout=frame[FEATURES].iloc[200:],
            output=str(tmp_path / "reg.onnx"),
        )
        assert r.rows_checked == 100 and r.max_abs_diff <= 1e-4


def test_an_unsupported_model_fails_in_one_short_line(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.kernel_ridge import KernelRidge

    from shipyard.serving import export

    with Platform.open(project_dir) as p:
        frame = build_served_model(p, n=100)
        model = KernelRidge().fit(frame[FEATURES], frame.f0)
        with p.tracking.start_run(experiment="churn") as run:
            run.log_model(model, "model", input_example=frame[FEATURES].head(5))
        v = p.registry.register_model("churn", source=f"runs:/{run.id}/model").version
        with pytest.raises(InvalidArgument) as err:
            p.serving.export_model(f"churn/{v}")
        assert "KernelRidge" in err.value.message
        assert len(err.value.headline) < 500 and "\n" not in err.value.headline

        def huge(model: Any, n: int) -> Any:
            raise ValueError(
                "Unable to create node with attributes={" + "0, " * 300_000 + "}\nmore"
            )

        monkeypatch.setattr(export, "_convert_sklearn", huge)
        with pytest.raises(InvalidArgument) as err:
            p.serving.export_model("churn/1")
    assert len(err.value.headline) < 500 and "\n" not in err.value.headline
    assert err.value.__cause__ is not None  # the full text stays for --debug


def test_the_demo_model_exports_from_the_cli(project_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from sklearn.ensemble import HistGradientBoostingClassifier

    with Platform.open(project_dir) as p:
        frame = build_served_model(p)
        y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
        # trained on 200 rows; the input example (the CLI's held-out rows) is 20 others:
        # a training row can sit exactly on a split threshold, where float32 may differ
        model = HistGradientBoostingClassifier(**DEMO_PARAMS).fit(frame[FEATURES][:200], y[:200])
        with p.tracking.start_run(experiment="churn") as run:
            example = frame[FEATURES].iloc[200:220]
            run.log_model(model, "model", input_example=example, predict_method="predict_proba")
        version = p.registry.register_model("churn", source=f"runs:/{run.id}/model").version
    out = tmp_path / "demo.onnx"
    argv = ["-C", str(project_dir), "models", "export", f"churn/{version}", "-o", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard", *argv, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["converter"] == "skl2onnx.convert_sklearn" and out.exists()
    assert result["max_abs_diff"] <= 1e-4 and result["rows_checked"] == 20
