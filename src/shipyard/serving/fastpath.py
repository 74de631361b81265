"""A lean scorer for scikit-learn models: a float64 matrix straight to the estimator.

The registry's loaded model checks each input against the signature with pandas
(about a millisecond a call); scikit-learn adds as much again for a DataFrame's
feature names. For a fitted scikit-learn estimator whose feature names are the
signature's numeric columns, in order, serving builds the matrix in that order
itself and calls a copy of the estimator without its recorded feature names.
The fast scorer is used only if it gives the same answer as the loaded model on
probe rows, without warnings; otherwise serving keeps the loaded model's path.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = {"double", "float", "long", "integer"}

Scorer = Callable[[np.ndarray], Any]


def _strip_names(obj: Any, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if hasattr(obj, "feature_names_in_") and hasattr(obj, "get_params"):
        with contextlib.suppress(AttributeError):
            delattr(obj, "feature_names_in_")
    children: list[Any] = []
    for value in getattr(obj, "__dict__", {}).values():
        if hasattr(value, "get_params"):
            children.append(value)
        elif isinstance(value, list | tuple):
            children.extend(v for v in value if hasattr(v, "get_params"))
            children.extend(
                v[1]
                for v in value
                if isinstance(v, tuple) and len(v) > 1 and hasattr(v[1], "get_params")
            )
    for child in children:
        _strip_names(child, seen)


def fast_scorer(loaded: Any) -> tuple[Scorer, list[str]] | None:
    """``(scorer, columns)`` for a registry model that can skip pandas, else ``None``.

    A model served by a worker process (``worker.WorkerModel``) built its scorer there.
    """
    remote = getattr(loaded, "fast_scorer", None)
    if callable(remote):
        found: tuple[Scorer, list[str]] | None = remote()
        return found
    raw = getattr(loaded, "model", None)
    method = getattr(loaded, "predict_method", None)
    columns = list(getattr(loaded, "input_columns", None) or [])
    signature = (getattr(loaded, "signature", None) or {}).get("inputs") or []
    if raw is None or method not in ("predict", "predict_proba") or not columns:
        return None
    if type(raw).__module__.split(".")[0] != "sklearn":
        return None
    names = getattr(raw, "feature_names_in_", None)
    if names is None or [str(n) for n in names] != columns:
        return None
    if any(str(c.get("type")) not in NUMERIC for c in signature):
        return None
    lean = copy.deepcopy(raw)
    _strip_names(lean, set())
    fn = getattr(lean, method)
    return (fn, columns) if _agrees(loaded, fn, columns) else None


def _agrees(loaded: Any, fn: Scorer, columns: list[str]) -> bool:
    probe = np.random.default_rng(0).normal(size=(4, len(columns)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mine = np.asarray(fn(probe))
        theirs = np.asarray(loaded.predict(pd.DataFrame(probe, columns=columns)))
    except Exception:
        return False
    if mine.ndim == 2 and mine.shape[1] == 2 and theirs.ndim == 1:
        mine = mine[:, 1]
    return mine.shape == theirs.shape and bool(np.allclose(mine, theirs, equal_nan=True))
