"""Pushed records: checked against the views of a push source and typed as Arrow.

A push names its push source; every feature view reading that source gets the
records online at once, and the source's lake table gets them appended. Rows
are refused whole when a join key or the timestamp is missing, a column is
unknown, or a value does not fit its declared type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from shipyard.errors import InvalidArgument
from shipyard.features.entities import frame_to_arrow
from shipyard.features.models import FeatureView, arrow_type
from shipyard.features.registry import Definitions

_KEY_TYPES = {"int64": pa.int64(), "int32": pa.int32(), "string": pa.string()}
_TS = pa.timestamp("us", tz="UTC")


def push_schema(defs: Definitions, views: list[FeatureView]) -> tuple[pa.Schema, list[str]]:
    """The columns a push must (required) and may carry, typed."""
    fields: dict[str, pa.DataType] = {}
    required: list[str] = []
    for view in views:
        for entity in view.entities:
            e = defs.entities[entity]
            for k in e.join_keys:
                fields[k] = _KEY_TYPES[e.value_type]
                required.append(k)
        fields[view.timestamp_field] = _TS
        required.append(view.timestamp_field)
        if view.created_timestamp_field:
            fields[view.created_timestamp_field] = _TS
        for f in view.features:
            t = arrow_type(f.dtype)
            if fields.get(f.name, t) != t:
                raise InvalidArgument(
                    f"views of one push source disagree on the type of '{f.name}'"
                )
            fields[f.name] = t
    return pa.schema(list(fields.items())), list(dict.fromkeys(required))


def _timestamp(value: Any, column: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        ts = value
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgument(
                f"push column '{column}': {value!r} is not an ISO timestamp"
            ) from None
    else:
        raise InvalidArgument(f"push column '{column}': {value!r} is not a timestamp")
    if ts is not None and ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)  # naive timestamps are UTC
    return ts


def _records_to_columns(rows: list[dict[str, Any]], schema: pa.Schema) -> dict[str, list[Any]]:
    known = set(schema.names)
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidArgument(f"push row {i} is not a mapping of column to value")
        unknown = [c for c in row if c not in known]
        if unknown:
            raise InvalidArgument(
                f"push row {i} has unknown column(s) {', '.join(unknown)}"
                f" (known: {', '.join(schema.names)})",
                unknown=unknown,
            )
    return {name: [r.get(name) for r in rows] for name in schema.names}


def to_push_table(rows: Any, schema: pa.Schema, required: list[str]) -> pa.Table:
    """Rows (records, pandas or Arrow) as an Arrow table of ``schema``.

    Raises:
        InvalidArgument: a missing key or timestamp, an unknown column, a wrong type.
    """
    if isinstance(rows, pa.Table):
        rows = rows.to_pylist()
    elif hasattr(rows, "columns") and hasattr(rows, "dtypes"):
        rows = frame_to_arrow(rows).to_pylist()
    if not isinstance(rows, list) or not rows:
        raise InvalidArgument("push needs a non-empty list of rows (or a DataFrame)")
    columns = _records_to_columns(rows, schema)
    arrays = []
    for field in schema:
        values = columns[field.name]
        if field.name in required:
            missing = [i for i, v in enumerate(values) if v is None]
            if missing:
                raise InvalidArgument(
                    f"push row {missing[0]} lacks '{field.name}'", missing=[field.name]
                )
        if pa.types.is_timestamp(field.type):
            values = [_timestamp(v, field.name) for v in values]
        try:
            arrays.append(pa.array(values, type=field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
            raise InvalidArgument(
                f"push column '{field.name}' expects {field.type}: {exc}", column=field.name
            ) from None
    return pa.Table.from_arrays(arrays, schema=schema)
