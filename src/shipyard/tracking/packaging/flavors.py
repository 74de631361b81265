"""Flavors: how each kind of model is saved, loaded and what it needs installed.

Each flavor writes MLflow-compatible ``flavors`` entries into ``MLmodel`` so that
``mlflow.pyfunc.load_model`` can read models logged here, and reads the entries
MLflow writes so that models logged by MLflow load here.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.tracking.packaging.requirements import pinned, python_version


def _module_of(model: Any) -> str:
    return type(model).__module__


class Flavor(ABC):
    name: str
    #: Distributions every model of this flavor needs.
    packages: tuple[str, ...] = ()

    @abstractmethod
    def detect(self, model: Any) -> bool: ...

    @abstractmethod
    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        """Write the model into ``path``; return the MLmodel ``flavors`` entries."""

    @abstractmethod
    def load(self, path: Path, flavors: dict[str, Any]) -> Any: ...

    def requirements(self, model: Any | None) -> list[str]:
        modules = [_module_of(model)] if model is not None else []
        return pinned(list(self.packages), modules=modules)

    @staticmethod
    def pyfunc(loader: str, model_path: str, predict_fn: str = "predict") -> dict[str, Any]:
        return {
            "loader_module": loader,
            "model_path": model_path,
            "predict_fn": predict_fn,
            "python_version": python_version(),
            "env": {"virtualenv": "python_env.yaml"},
        }


class SklearnFlavor(Flavor):
    name = "sklearn"
    packages = ("scikit-learn", "numpy", "pandas", "scipy")

    def detect(self, model: Any) -> bool:
        try:
            from sklearn.base import BaseEstimator
        except ImportError:  # pragma: no cover - sklearn is a core dependency
            return False
        return isinstance(model, BaseEstimator)

    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        import sklearn

        with open(path / "model.pkl", "wb") as f:
            pickle.dump(model, f, protocol=pickle.DEFAULT_PROTOCOL)
        return {
            "python_function": self.pyfunc("mlflow.sklearn", "model.pkl"),
            "sklearn": {
                "pickled_model": "model.pkl",
                "serialization_format": "pickle",
                "sklearn_version": sklearn.__version__,
                "code": None,
            },
        }

    def load(self, path: Path, flavors: dict[str, Any]) -> Any:
        conf = flavors.get("sklearn", {})
        file = path / conf.get("pickled_model", "model.pkl")
        fmt = conf.get("serialization_format", "pickle")
        if fmt == "skops":  # MLflow 3's default for scikit-learn
            import skops.io as sio

            trusted = conf.get("skops_trusted_types") or sio.get_untrusted_types(file=file)
            return sio.load(file, trusted=trusted)
        with open(file, "rb") as f:
            if fmt == "cloudpickle":
                import cloudpickle

                return cloudpickle.load(f)
            return pickle.load(f)


class LightgbmFlavor(Flavor):
    name = "lightgbm"
    packages = ("lightgbm", "numpy", "pandas", "scikit-learn")

    def detect(self, model: Any) -> bool:
        return _module_of(model).startswith("lightgbm")

    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            model.save_model(str(path / "model.lgb"))
            conf = {"data": "model.lgb", "model_class": "lightgbm.basic.Booster"}
        else:  # the scikit-learn API (LGBMClassifier, ...)
            with open(path / "model.pkl", "wb") as f:
                pickle.dump(model, f)
            conf = {
                "data": "model.pkl",
                "model_class": f"{_module_of(model)}.{type(model).__name__}",
            }
        conf["lgb_version"] = lightgbm.__version__
        return {"python_function": self.pyfunc("mlflow.lightgbm", conf["data"]), "lightgbm": conf}

    def load(self, path: Path, flavors: dict[str, Any]) -> Any:
        import lightgbm

        conf = flavors["lightgbm"]
        file = path / conf.get("data", "model.lgb")
        if file.suffix == ".pkl":
            with open(file, "rb") as f:
                return pickle.load(f)
        return lightgbm.Booster(model_file=str(file))


class XgboostFlavor(Flavor):
    name = "xgboost"
    packages = ("xgboost", "numpy", "pandas", "scikit-learn")

    def detect(self, model: Any) -> bool:
        return _module_of(model).startswith("xgboost")

    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        import xgboost

        model.save_model(str(path / "model.ubj"))
        model_class = f"{_module_of(model)}.{type(model).__name__}"
        conf = {
            "data": "model.ubj",
            "model_class": model_class,
            "model_format": "ubj",
            "xgb_version": xgboost.__version__,
        }
        return {"python_function": self.pyfunc("mlflow.xgboost", "model.ubj"), "xgboost": conf}

    def load(self, path: Path, flavors: dict[str, Any]) -> Any:
        import importlib

        conf = flavors["xgboost"]
        module, _, cls_name = conf.get("model_class", "xgboost.core.Booster").rpartition(".")
        cls = getattr(importlib.import_module(module), cls_name)
        model = cls()
        model.load_model(str(path / conf.get("data", "model.xgb")))
        return model


class OnnxFlavor(Flavor):
    name = "onnx"
    packages = ("onnx", "onnxruntime", "numpy", "pandas")

    def detect(self, model: Any) -> bool:
        return type(model).__name__ == "ModelProto" and _module_of(model).startswith("onnx")

    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        import onnx

        (path / "model.onnx").write_bytes(model.SerializeToString())
        conf = {"data": "model.onnx", "onnx_version": onnx.__version__}
        return {"python_function": self.pyfunc("mlflow.onnx", "model.onnx"), "onnx": conf}

    def load(self, path: Path, flavors: dict[str, Any]) -> Any:
        import onnxruntime

        file = path / flavors["onnx"].get("data", "model.onnx")
        return onnxruntime.InferenceSession(str(file), providers=["CPUExecutionProvider"])


class PyfuncFlavor(Flavor):
    """A plain Python callable, or any object with a ``predict`` method."""

    name = "pyfunc"
    packages = ("numpy", "pandas")

    def detect(self, model: Any) -> bool:
        return callable(model) or hasattr(model, "predict")

    def save(self, model: Any, path: Path) -> dict[str, dict[str, Any]]:
        try:
            import cloudpickle

            data, fmt = cloudpickle.dumps(model), "cloudpickle"
        except ImportError:
            data, fmt = pickle.dumps(model), "pickle"
        except Exception as exc:
            raise InvalidArgument(f"cannot pickle the model: {exc}") from None
        (path / "python_model.pkl").write_bytes(data)
        conf = {"data": "python_model.pkl", "serialization_format": fmt}
        return {"shipyard_pyfunc": conf}

    def requirements(self, model: Any | None) -> list[str]:
        extra = ["cloudpickle"]
        return pinned([*self.packages, *extra], modules=[_module_of(model)] if model else [])

    def load(self, path: Path, flavors: dict[str, Any]) -> Any:
        conf = flavors["shipyard_pyfunc"]
        raw = (path / conf.get("data", "python_model.pkl")).read_bytes()
        if conf.get("serialization_format") == "cloudpickle":
            import cloudpickle

            return cloudpickle.loads(raw)
        return pickle.loads(raw)


#: Detection order matters: boosting libraries subclass scikit-learn estimators.
FLAVORS: dict[str, Flavor] = {
    f.name: f
    for f in (LightgbmFlavor(), XgboostFlavor(), OnnxFlavor(), SklearnFlavor(), PyfuncFlavor())
}
#: MLmodel ``flavors`` keys -> our flavor (for models logged by MLflow).
FLAVOR_KEYS = {
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "onnx": "onnx",
    "sklearn": "sklearn",
    "shipyard_pyfunc": "pyfunc",
}


def flavor_for(model: Any, name: str | None = None) -> Flavor:
    """The flavor named ``name``, or the first that recognises ``model``.

    Raises:
        InvalidArgument: unknown flavor name, or no flavor recognises the model.
    """
    if name is not None:
        if name not in FLAVORS:
            raise InvalidArgument(
                f"unknown model flavor '{name}' (one of: {', '.join(FLAVORS)})", flavor=name
            )
        return FLAVORS[name]
    for flavor in FLAVORS.values():
        if flavor.detect(model):
            return flavor
    raise InvalidArgument(
        f"cannot log a {type(model).__name__}: not a scikit-learn, LightGBM, XGBoost or ONNX "
        "model, and neither callable nor with a predict method"
    )


def flavor_from_mlmodel(flavors: dict[str, Any]) -> Flavor | None:
    for key, name in FLAVOR_KEYS.items():
        if key in flavors:
            return FLAVORS[name]
    return None
