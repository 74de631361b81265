"""Edge export: a registered model version to ONNX, checked for parity, recorded with lineage.

scikit-learn models convert with skl2onnx, LightGBM and XGBoost with onnxmltools
(each imported only when needed). The converted model is run with onnxruntime
on held-out rows and must match the original within ``tolerance``; only then is
it stored as an artifact of the version's run and cataloged as
``model_export:<name>.v<version>.onnx`` with an ``export`` edge from the model.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shipyard.catalog.context import ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.security.models import Permission
from shipyard.serving.models import ExportResult

if TYPE_CHECKING:
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.service import TrackingService

FORMATS = ("onnx",)
#: The highest opset every converter here supports (onnxmltools: 15).
TARGET_OPSET = 15
#: The ``ai.onnx.ml`` opset onnxmltools' LightGBM and XGBoost converters support.
ML_OPSET = 3

log = logging.getLogger(__name__)


def _short(exc: BaseException) -> str:
    """The first line of an exception, at most 300 characters: converters put whole
    graphs and attribute arrays in their messages."""
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    line = f"{type(exc).__name__}: {line}" if line else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def _int_attrs(converter: Any) -> Any:
    """Wrap a skl2onnx converter so that Python bools in integer-list attributes
    become ints: skl2onnx 1.20 emits ``False`` for the HistGradientBoosting leaves'
    ``nodes_missing_value_tracks_true`` and onnx >= 1.19 refuses booleans there."""

    def convert(scope: Any, operator: Any, container: Any) -> None:
        add_node = container.add_node

        def add(*args: Any, **attrs: Any) -> Any:
            for k, v in attrs.items():
                if isinstance(v, list) and any(isinstance(x, bool) for x in v):
                    attrs[k] = [int(x) if isinstance(x, bool) else x for x in v]
            return add_node(*args, **attrs)

        container.add_node = add
        try:
            converter(scope, operator, container)
        finally:
            del container.add_node

    return convert


def _register_boosters() -> None:
    """Let skl2onnx convert LightGBM and XGBoost estimators inside scikit-learn
    pipelines (onnxmltools' converters, as skl2onnx documents)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    try:
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        for cls, shapes in (
            (lightgbm.LGBMClassifier, calculate_linear_classifier_output_shapes),
            (lightgbm.LGBMRegressor, calculate_linear_regressor_output_shapes),
        ):
            options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
            update_registered_converter(
                cls, f"Lgbm{cls.__name__}", shapes, convert_lightgbm, options=options
            )
    except ImportError:  # pragma: no cover - lightgbm is optional
        pass
    try:
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(
            xgboost.XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
        )
        update_registered_converter(
            xgboost.XGBRegressor,
            "XGBoostXGBRegressor",
            calculate_linear_regressor_output_shapes,
            convert_xgboost,
        )
    except ImportError:  # pragma: no cover - xgboost is optional
        pass


def _convert_booster(model: Any, kind: str, n_features: int) -> tuple[bytes, str]:
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    types = [("input", FloatTensorType([None, n_features]))]
    if kind == "lightgbm":
        onx = onnxmltools.convert_lightgbm(
            model, initial_types=types, target_opset=TARGET_OPSET, zipmap=False
        )
        return onx.SerializeToString(), "onnxmltools.convert_lightgbm"
    model = copy.deepcopy(model)
    # the converter reads splits as f<index>; a native Booster is its own booster
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    booster.feature_names = None
    onx = onnxmltools.convert_xgboost(model, initial_types=types, target_opset=TARGET_OPSET)
    return onx.SerializeToString(), "onnxmltools.convert_xgboost"


def _convert_sklearn(model: Any, n_features: int) -> tuple[bytes, str]:
    from skl2onnx import convert_sklearn
    from skl2onnx.common._registration import get_converter
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    _register_boosters()
    custom = {
        cls: _int_attrs(get_converter(f"Sklearn{cls.__name__}"))
        for cls in (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
    }
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        target_opset={"": TARGET_OPSET, "ai.onnx.ml": ML_OPSET},
        options={"zipmap": False} if hasattr(model, "predict_proba") else None,
        custom_conversion_functions=custom,
    )
    return onx.SerializeToString(), "skl2onnx.convert_sklearn"


def _convert(model: Any, n_features: int) -> tuple[bytes, str]:
    """The ONNX bytes of ``model`` and the converter used.

    Raises:
        InvalidArgument: a model no converter here handles, or a converter that
        failed (one short line; the full text is logged at debug level).
    """
    kind = type(model).__module__.split(".")[0]
    if kind not in ("sklearn", "lightgbm", "xgboost"):
        raise InvalidArgument(
            f"cannot export a {type(model).__name__} model to ONNX "
            "(scikit-learn, LightGBM and XGBoost models can be)"
        )
    try:
        if kind in ("lightgbm", "xgboost"):
            return _convert_booster(model, kind, n_features)
        return _convert_sklearn(model, n_features)
    except Exception as exc:
        log.debug("ONNX conversion of %s failed", type(model).__name__, exc_info=True)
        raise InvalidArgument(
            f"cannot export this {type(model).__name__} to ONNX: {_short(exc)} "
            "(rerun with --debug for the details)",
            model_type=type(model).__name__,
        ) from exc


def run_onnx(data: bytes, frame: pd.DataFrame, predict_method: str) -> np.ndarray:
    """Score ``frame`` with the ONNX model alone (onnxruntime), like the original would."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: no shape warnings on the terminal
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: frame.to_numpy(dtype=np.float32)}
    outputs = session.run(None, feed)
    if predict_method == "predict_proba" and len(outputs) > 1:
        probs = np.asarray(outputs[1])
        return probs[:, 1] if probs.ndim == 2 and probs.shape[1] == 2 else probs
    return np.asarray(outputs[0]).reshape(len(frame), -1).squeeze(-1)


def _holdout(model_dir: Path, holdout: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if holdout is None:
        example = model_dir / "input_example.json"
        if not example.exists():
            raise InvalidArgument(
                "no held-out rows: pass holdout= or log the model with an input_example"
            )
        split = json.loads(example.read_text())
        holdout = pd.DataFrame(split["data"], columns=split["columns"])
    cols = columns or list(holdout.columns)
    missing = [c for c in cols if c not in holdout.columns]
    if missing:
        raise InvalidArgument(f"held-out rows lack the model's columns {missing}")
    return holdout[cols].astype("float64")


def export_model(
    ctx: ServiceContext,
    registry: RegistryService,
    tracking: Callable[[], TrackingService],
    model: str,
    *,
    format: str = "onnx",
    holdout: pd.DataFrame | None = None,
    tolerance: float = 1e-4,
    output: str | Path | None = None,
) -> ExportResult:
    """See ``ServingService.export_model``."""
    if format not in FORMATS:
        raise InvalidArgument(f"unknown export format '{format}' (one of {', '.join(FORMATS)})")
    mv = registry.resolve(model if model.startswith("models:/") else f"models:/{model}")
    uri = f"models:/{mv.name}/{mv.version}"
    with ctx.db.connect() as conn:  # refused before the conversion writes anything
        owner = ctx.catalog.get(conn, "model", mv.name).owner
    ctx.require(Permission.WRITE, owner, action="serving.export_model", asset=f"model:{mv.name}")
    loaded = registry.load_model(uri)
    frame = _holdout(registry.download_model(uri), holdout, list(loaded.input_columns))
    data, converter = _convert(loaded.model, frame.shape[1])
    expected = np.asarray(loaded.predict(frame), dtype=np.float64).reshape(len(frame), -1)
    # a native classifier Booster's predict is its probabilities (ONNX's second output)
    native = type(loaded.model).__name__ == "Booster"
    try:
        got = run_onnx(data, frame, "predict_proba" if native else loaded.predict_method)
    except Exception as exc:
        log.debug("onnxruntime could not run the export of %s", uri, exc_info=True)
        raise InvalidArgument(
            f"the ONNX model of {mv.name}/{mv.version} does not run: {_short(exc)} "
            "(rerun with --debug for the details)"
        ) from exc
    got = got.astype(np.float64).reshape(len(frame), -1)
    diff = float(np.max(np.abs(expected - got))) if len(frame) else 0.0
    if not diff <= tolerance:
        raise InvalidArgument(
            f"the ONNX model differs from {mv.name}/{mv.version} by {diff:.3g} on "
            f"{len(frame)} held-out rows (tolerance {tolerance:g}); not exported",
            max_abs_diff=diff,
        )
    return _record(ctx, tracking, mv, data, converter, len(frame), diff, tolerance, output)


def _record(
    ctx: ServiceContext,
    tracking: Callable[[], TrackingService],
    mv: Any,
    data: bytes,
    converter: str,
    rows: int,
    diff: float,
    tolerance: float,
    output: str | Path | None,
) -> ExportResult:
    name = f"{mv.name}.v{mv.version}.onnx"
    target = Path(output) if output else ctx.settings.home_dir / "exports" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    artifact = None
    if mv.run_id:
        artifact = tracking().put_artifact(mv.run_id, f"exports/{name}", data)
    with ctx.db.connect() as conn:
        model_asset = ctx.catalog.get(conn, "model", mv.name)
    with ctx.mutation(
        "serving.export_model",
        team=model_asset.owner,
        asset=f"model_export:{name}",
        permission=Permission.WRITE,
    ) as m:
        asset = ctx.catalog.upsert(
            m.conn,
            kind="model_export",
            name=name,
            owner=model_asset.owner,
            created_by=ctx.principal.name,
            properties={
                "format": "onnx",
                "converter": converter,
                "artifact": artifact,
                "run_id": mv.run_id,
                "rows_checked": rows,
                "max_abs_diff": diff,
                "opset": TARGET_OPSET,
                "size_bytes": len(data),
            },
        )
        ctx.catalog.add_edge(
            m.conn,
            model_asset,
            asset,
            operation="export",
            created_by=ctx.principal.name,
            source_version=mv.version,
        )
        m.asset = str(asset.ref)
        m.details = {"converter": converter, "max_abs_diff": diff}
    return ExportResult(
        model_version=f"{mv.name}/{mv.version}",
        format="onnx",
        converter=converter,
        path=str(target),
        artifact=artifact,
        asset=str(asset.ref),
        rows_checked=rows,
        max_abs_diff=diff,
        tolerance=tolerance,
        size_bytes=len(data),
    )
