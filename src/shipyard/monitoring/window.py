"""Reading a deployment's window of the inference log as per-feature arrays (DuckDB)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from shipyard.monitoring import sketch
from shipyard.monitoring.models import FeatureProfile
from shipyard.serving.predlog import LOG_TABLE

_SAFE = re.compile(r"^[A-Za-z0-9_.:\- ]{1,200}$")


def safe_feature(name: str) -> bool:
    """Names that can be put in a JSON path literal (the rest are skipped, and said so)."""
    return bool(_SAFE.match(name))


def _where(deployment: str, start: datetime, end: datetime) -> str:
    return (
        f"deployment = '{deployment}' AND NOT shadow AND error IS NULL"
        f" AND ts >= TIMESTAMPTZ '{start.isoformat()}' AND ts < TIMESTAMPTZ '{end.isoformat()}'"
    )


def models_sql(deployment: str, start: datetime, end: datetime) -> str:
    """Rows per (model, version) in the window, most first. ``deployment`` is validated."""
    return (
        f"SELECT model, model_version, count(*) AS n FROM {LOG_TABLE} "
        f"WHERE {_where(deployment, start, end)} GROUP BY 1, 2 ORDER BY n DESC"
    )


def features_sql(
    deployment: str, start: datetime, end: datetime, features: dict[str, FeatureProfile]
) -> str:
    """One column per reference feature, extracted from the logged JSON, plus prediction."""
    cols = []
    for i, (name, prof) in enumerate(features.items()):
        path = f"'$.\"{name}\"'"
        if prof.kind == "numeric":
            cols.append(f"TRY_CAST(json_extract(features, {path}) AS DOUBLE) AS c{i}")
        else:
            cols.append(f"json_extract_string(features, {path}) AS c{i}")
    select = ", ".join([*cols, "prediction"])
    return f"SELECT {select} FROM {LOG_TABLE} WHERE {_where(deployment, start, end)}"


def predictions_sql(deployment: str, start: datetime, end: datetime) -> str:
    return f"SELECT prediction FROM {LOG_TABLE} WHERE {_where(deployment, start, end)}"


def split(table: pa.Table, features: dict[str, FeatureProfile]) -> dict[str, tuple[Any, int]]:
    """{feature: (values, nulls)}: numeric -> finite float64 array; categorical -> counts."""
    out: dict[str, tuple[Any, int]] = {}
    for i, (name, prof) in enumerate(features.items()):
        column = table.column(f"c{i}")
        if prof.kind == "numeric":
            out[name] = sketch.numeric_values(column)
        else:
            out[name] = sketch.category_counts(column)
    return out


def numeric(column: Any) -> tuple[np.ndarray, int]:
    return sketch.numeric_values(column)
