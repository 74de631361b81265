"""A loaded model: one ``predict`` whatever the flavor, with the signature checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import InvalidArgument
from shipyard.tracking.packaging.flavors import flavor_from_mlmodel
from shipyard.tracking.packaging.mlmodel import read_mlmodel, signature_of
from shipyard.tracking.packaging.signature import check_input


class LoadedModel:
    """``predict(data) -> numpy array``; for ``predict_proba`` with two classes,
    the probability of the positive class."""

    def __init__(
        self,
        model: Any,
        *,
        flavor: str,
        predict_method: str = "predict",
        signature: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        uri: str | None = None,
    ) -> None:
        self.model = model
        self.flavor = flavor
        self.predict_method = predict_method
        self.signature = signature
        self.metadata = metadata or {}
        self.uri = uri

    @property
    def input_columns(self) -> list[str]:
        inputs = (self.signature or {}).get("inputs") or []
        return [str(c["name"]) for c in inputs if "name" in c]

    @staticmethod
    def call(model: Any, method: str, frame: pd.DataFrame) -> Any:
        """Run ``method`` of ``model`` on ``frame`` (ONNX sessions and boosters included)."""
        kind = type(model).__name__
        if kind == "InferenceSession":
            feed = {model.get_inputs()[0].name: frame.to_numpy(dtype=np.float32)}
            outputs = model.run(None, feed)
            if method == "predict_proba" and len(outputs) > 1:
                probs = outputs[1]
                if isinstance(probs, list):  # ZipMap output: one dict per row
                    return np.array([[row[k] for k in sorted(row)] for row in probs])
                return np.asarray(probs)
            return np.asarray(outputs[0])
        if kind == "Booster" and type(model).__module__.startswith("xgboost"):
            import xgboost

            return model.predict(xgboost.DMatrix(frame))
        if method == "__call__" or (not hasattr(model, method) and callable(model)):
            return model(frame)
        return getattr(model, method)(frame)

    def predict(self, data: Any) -> np.ndarray:
        """Predict on a DataFrame (or records, dict of columns, 2-D array).

        Raises:
            InvalidArgument: the data does not match the signature (names the column).
        """
        frame = check_input(data, (self.signature or {}).get("inputs"))
        try:
            out = self.call(self.model, self.predict_method, frame)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidArgument(f"the model could not predict on this input: {exc}") from None
        if isinstance(out, pd.DataFrame | pd.Series):
            out = out.to_numpy()
        arr = np.asarray(out)
        if self.predict_method == "predict_proba" and arr.ndim == 2 and arr.shape[1] == 2:
            return arr[:, 1]
        return arr

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor!r}, uri={self.uri!r})"


def load_model_dir(path: Path, *, uri: str | None = None) -> LoadedModel:
    """Load the model saved in ``path`` (by Shipyard or by MLflow).

    Raises:
        InvalidArgument: no MLmodel, an unknown flavor, or files that cannot be loaded.
    """
    mlmodel = read_mlmodel(path)
    flavors = mlmodel["flavors"]
    meta = mlmodel.get("shipyard") or {}
    flavor = flavor_from_mlmodel(flavors)
    try:
        if flavor is not None:
            model = flavor.load(path, flavors)
            name = flavor.name
        elif "python_function" in flavors:
            model, name = _load_with_mlflow(path), "python_function"
        else:
            raise InvalidArgument(
                f"cannot load a model with flavors {', '.join(flavors)}", flavors=list(flavors)
            )
    except InvalidArgument:
        raise
    except Exception as exc:
        raise InvalidArgument(
            f"the model files cannot be loaded ({type(exc).__name__}: {exc})", uri=uri
        ) from None
    method = meta.get("predict_method")
    if method is None:
        pyfunc = flavors.get("python_function") or {}
        method = pyfunc.get("predict_fn") or "predict"
    return LoadedModel(
        model,
        flavor=name,
        predict_method=method,
        signature=signature_of(mlmodel),
        metadata=mlmodel,
        uri=uri,
    )


def _load_with_mlflow(path: Path) -> Any:
    try:
        import mlflow.pyfunc
    except ImportError:
        raise InvalidArgument("this model needs the mlflow package to load") from None
    return mlflow.pyfunc.load_model(str(path))
