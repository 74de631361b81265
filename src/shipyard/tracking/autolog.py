"""Autologging for scikit-learn: each top-level ``fit`` logs params, training metrics
and the fitted model to the run.

While active, ``fit`` of every scikit-learn estimator class is wrapped (as
MLflow does); fits nested inside another fit (a pipeline's steps, a forest's trees in
worker threads) are not logged on their own; neither are fits in other threads
while one is being logged. ``stop()`` restores the classes.
"""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.tracking.active_run import ActiveRun

_LOCK = threading.Lock()
_MAX_PARAM = 500


def _training_metrics(est: Any, X: Any, y: Any) -> dict[str, float]:
    from sklearn import metrics as skm
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if y is None:
        return out
    if is_classifier(est):
        pred = est.predict(X)
        out["training_accuracy"] = float(skm.accuracy_score(y, pred))
        out["training_f1_score"] = float(skm.f1_score(y, pred, average="weighted"))
        classes = getattr(est, "classes_", [])
        if hasattr(est, "predict_proba") and len(classes) == 2:
            out["training_roc_auc"] = float(skm.roc_auc_score(y, est.predict_proba(X)[:, 1]))
    elif is_regressor(est):
        pred = est.predict(X)
        out["training_r2_score"] = float(skm.r2_score(y, pred))
        out["training_mean_squared_error"] = float(skm.mean_squared_error(y, pred))
        out["training_mean_absolute_error"] = float(skm.mean_absolute_error(y, pred))
    return out


class SklearnAutolog:
    def __init__(self, run: ActiveRun, *, log_models: bool = True) -> None:
        self._run = run
        self._log_models = log_models
        self._patched: list[tuple[type, Any]] = []
        self._fits = 0
        # Process-wide, not per thread: ensembles fit their members in worker threads.
        self._active = False

    def start(self) -> SklearnAutolog:
        from sklearn.utils import all_estimators

        with _LOCK:
            for _, cls in all_estimators():
                inherited = getattr(cls, "fit", None)
                if inherited is None:
                    continue
                own = cls.__dict__.get("fit")  # None: inherited from an unlisted base class
                cls.fit = self._wrap(inherited)
                self._patched.append((cls, own))
        return self

    def stop(self) -> None:
        with _LOCK:
            for cls, own in reversed(self._patched):
                if own is None:
                    del cls.fit
                else:
                    cls.fit = own
            self._patched.clear()

    def _wrap(self, fit: Any) -> Any:
        autolog = self

        @functools.wraps(fit)
        def patched(est: Any, *args: Any, **kwargs: Any) -> Any:
            with _LOCK:
                nested = autolog._active
                autolog._active = True
            if nested:
                return fit(est, *args, **kwargs)
            try:
                result = fit(est, *args, **kwargs)
                X = args[0] if args else kwargs.get("X")
                y = args[1] if len(args) > 1 else kwargs.get("y")
                if X is not None:  # metrics may fit helpers (label encoders): still nested
                    autolog._record(est, X, y)
            finally:
                autolog._active = False
            return result

        return patched

    def _record(self, est: Any, X: Any, y: Any) -> None:
        self._fits += 1
        suffix = "" if self._fits == 1 else f"_{self._fits}"
        params = {
            f"{k}{suffix}": str(v)[:_MAX_PARAM] for k, v in est.get_params(deep=False).items()
        }
        params[f"estimator_class{suffix}"] = f"{type(est).__module__}.{type(est).__name__}"
        self._run.log_params(params)
        self._run.log_metrics({f"{k}{suffix}": v for k, v in _training_metrics(est, X, y).items()})
        if self._log_models and hasattr(est, "predict"):
            example = X[:5] if hasattr(X, "__getitem__") else None
            method = "predict_proba" if hasattr(est, "predict_proba") else "predict"
            self._run.log_model(est, f"model{suffix}", input_example=example, predict_method=method)
