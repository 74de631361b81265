"""Model signatures: infer them from data, check data against them.

The schema format is MLflow's column-based one (``[{"name": "x", "type":
"double", "required": true}]``) so that an ``MLmodel`` file written here reads
the same in MLflow, and one written by MLflow reads the same here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.errors import InvalidArgument

#: numpy dtype kind/size -> MLflow data type name.
_NUMPY_TO_TYPE = {
    ("b", 1): "boolean",
    ("i", 1): "integer",
    ("i", 2): "integer",
    ("i", 4): "integer",
    ("i", 8): "long",
    ("u", 1): "integer",
    ("u", 2): "integer",
    ("u", 4): "long",
    ("u", 8): "long",
    ("f", 2): "float",
    ("f", 4): "float",
    ("f", 8): "double",
}
_NUMERIC = {"integer", "long", "float", "double"}
#: Which data types may be given where a type is expected (safe widenings).
_ACCEPTS: dict[str, set[str]] = {
    "double": {"double", "float", "integer", "long", "boolean"},
    "float": {"float", "integer", "boolean"},
    "long": {"long", "integer", "boolean"},
    "integer": {"integer", "boolean"},
    "boolean": {"boolean"},
    "string": {"string"},
    "binary": {"binary"},
    "datetime": {"datetime"},
}


def _series_type(s: pd.Series) -> str:
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if isinstance(dtype, np.dtype) and (dtype.kind, dtype.itemsize) in _NUMPY_TO_TYPE:
        return _NUMPY_TO_TYPE[(dtype.kind, dtype.itemsize)]
    if pd.api.types.is_integer_dtype(dtype):
        return "long"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    non_null = s.dropna()
    if len(non_null) and all(isinstance(v, bytes | bytearray) for v in non_null):
        return "binary"
    return "string"


def as_frame(data: Any) -> pd.DataFrame:
    """A DataFrame view of model input (DataFrame, dict of columns, records, 2-D array)."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        return pd.DataFrame(
            {k: v if isinstance(v, list | np.ndarray) else [v] for k, v in data.items()}
        )
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pd.DataFrame.from_records(data)
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise InvalidArgument(f"model input must be tabular, got an array of shape {arr.shape}")
    return pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])


def infer_schema(data: Any) -> list[dict[str, Any]]:
    """The input schema of ``data`` (a DataFrame or anything ``as_frame`` takes)."""
    frame = as_frame(data)
    return [
        {"name": str(col), "type": _series_type(frame[col]), "required": True}
        for col in frame.columns
    ]


def infer_output_schema(output: Any) -> list[dict[str, Any]]:
    """The output schema of a prediction (an array, Series or DataFrame)."""
    if isinstance(output, pd.DataFrame):
        return infer_schema(output)
    arr = np.asarray(output)
    shape = [-1, *arr.shape[1:]]
    return [{"type": "tensor", "tensor-spec": {"dtype": str(arr.dtype), "shape": shape}}]


def check_input(data: Any, inputs: list[dict[str, Any]] | None) -> pd.DataFrame:
    """Check ``data`` against the input schema; return it with the schema's columns in order.

    Raises:
        InvalidArgument: a required column is missing or has an incompatible type
            (the message names the column).
    """
    frame = as_frame(data)
    if not inputs or any("name" not in c for c in inputs):
        return frame
    columns: list[str] = []
    for col in inputs:
        name, expected = str(col["name"]), str(col.get("type", "string"))
        if name not in frame.columns:
            if col.get("required", True):
                have = ", ".join(map(str, frame.columns))
                raise InvalidArgument(
                    f"input column '{name}' is missing (expected {expected}; got columns: {have})",
                    column=name,
                    expected=expected,
                )
            continue
        got = _series_type(frame[name])
        if got not in _ACCEPTS.get(expected, {expected}) and not (
            got == "string" and frame[name].isna().all() and expected in _NUMERIC
        ):
            raise InvalidArgument(
                f"input column '{name}' has type {got}, the model expects {expected}",
                column=name,
                expected=expected,
                got=got,
            )
        columns.append(name)
    out = frame[columns]
    casts = {
        str(c["name"]): "float64" if c["type"] == "double" else "float32"
        for c in inputs
        if str(c["name"]) in columns and c.get("type") in ("double", "float")
    }
    return out.astype(casts) if casts else out
