"""Save a model folder (MLflow's layout) and read one back.

Layout: ``MLmodel`` (YAML), the flavor's files, ``requirements.txt``,
``python_env.yaml`` and ``input_example.json``. The ``shipyard`` section of
``MLmodel`` records what MLflow has no field for (the predict method).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from shipyard._internal.ids import new_id
from shipyard.errors import InvalidArgument
from shipyard.tracking.packaging.flavors import Flavor, flavor_for
from shipyard.tracking.packaging.requirements import python_version
from shipyard.tracking.packaging.signature import (
    as_frame,
    infer_output_schema,
    infer_schema,
)

PREDICT_METHODS = ("predict", "predict_proba", "decision_function", "transform", "__call__")


def _example_json(example: Any) -> dict[str, Any]:
    frame = as_frame(example)
    return json.loads(frame.to_json(orient="split", index=False, date_format="iso"))


def infer_signature(
    model: Any, input_example: Any, predict_method: str
) -> dict[str, list[dict[str, Any]]]:
    """Input schema from the example; output schema from predicting on it."""
    from shipyard.tracking.packaging.loaded import LoadedModel

    inputs = infer_schema(input_example)
    try:
        out = LoadedModel.call(model, predict_method, as_frame(input_example))
        outputs = infer_output_schema(out)
    except Exception:  # the example may be partial; the input schema still helps
        outputs = []
    return {"inputs": inputs, "outputs": outputs}


def save_model(
    model: Any,
    path: Path,
    *,
    artifact_path: str,
    run_id: str | None = None,
    input_example: Any = None,
    signature: dict[str, Any] | None = None,
    predict_method: str = "predict",
    flavor: str | None = None,
    pip_requirements: list[str] | None = None,
) -> dict[str, Any]:
    """Write ``model`` into the empty folder ``path``; return the MLmodel dict.

    Raises:
        InvalidArgument: unknown flavor or predict method, or the model lacks it.
    """
    if predict_method not in PREDICT_METHODS:
        raise InvalidArgument(
            f"predict_method must be one of {', '.join(PREDICT_METHODS)}",
            predict_method=predict_method,
        )
    fl: Flavor = flavor_for(model, flavor)
    if predict_method != "__call__" and fl.name != "onnx" and not hasattr(model, predict_method):
        raise InvalidArgument(
            f"the model ({type(model).__name__}) has no method '{predict_method}'",
            predict_method=predict_method,
        )
    path.mkdir(parents=True, exist_ok=True)
    flavors = fl.save(model, path)
    if signature is None and input_example is not None:
        signature = infer_signature(model, input_example, predict_method)
    requirements = pip_requirements if pip_requirements is not None else fl.requirements(model)
    mlmodel: dict[str, Any] = {
        "artifact_path": artifact_path,
        "flavors": flavors,
        "model_uuid": new_id(),
        "run_id": run_id,
        "utc_time_created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "shipyard": {"flavor": fl.name, "predict_method": predict_method},
    }
    if signature:
        mlmodel["signature"] = {
            "inputs": json.dumps(signature.get("inputs") or []),
            "outputs": json.dumps(signature.get("outputs") or []),
            "params": None,
        }
    if input_example is not None:
        (path / "input_example.json").write_text(json.dumps(_example_json(input_example)))
        mlmodel["saved_input_example_info"] = {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        }
    (path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    (path / "python_env.yaml").write_text(
        yaml.safe_dump(
            {
                "python": python_version(),
                "build_dependencies": ["pip"],
                "dependencies": ["-r requirements.txt"],
            }
        )
    )
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return mlmodel


def read_mlmodel(path: Path) -> dict[str, Any]:
    """Parse ``path/MLmodel``.

    Raises:
        InvalidArgument: there is no MLmodel file, or it is not valid YAML.
    """
    file = path / "MLmodel"
    if not file.is_file():
        raise InvalidArgument(f"no MLmodel file in {path.name}: not a saved model", path=str(path))
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"the MLmodel file is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
        raise InvalidArgument("the MLmodel file has no 'flavors' section")
    return data


def signature_of(mlmodel: dict[str, Any]) -> dict[str, Any] | None:
    """The parsed ``{"inputs": [...], "outputs": [...]}`` of an MLmodel dict."""
    raw = mlmodel.get("signature")
    if not raw:
        return None
    out: dict[str, Any] = {}
    for key in ("inputs", "outputs"):
        value = raw.get(key)
        out[key] = json.loads(value) if isinstance(value, str) else (value or [])
    return out


def example_frame(path: Path, mlmodel: dict[str, Any]) -> Any:
    info = mlmodel.get("saved_input_example_info") or {}
    file = path / info.get("artifact_path", "input_example.json")
    if not file.is_file():
        return None
    import pandas as pd

    data = json.loads(file.read_text())
    if isinstance(data, dict) and "columns" in data:
        return pd.DataFrame(data["data"], columns=data["columns"])
    if isinstance(data, dict) and "dataframe_split" in data:
        split = data["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split.get("columns"))
    return np.asarray(data)
