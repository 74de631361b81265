"""Request validation on the hot path: plain loops, no pydantic, messages that name the field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shipyard.errors import InvalidArgument

MAX_ROWS = 10_000


def _is_float(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "float64": _is_float,
    "int64": _is_int,
    "string": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
}


def check_rows(
    rows: Any, entity_keys: tuple[str, ...], request_fields: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Check every row has its entity keys and request fields with the right types.

    Raises:
        InvalidArgument: naming the row, the field and (for a wrong type) the expected type.
    """
    if not isinstance(rows, list) or not rows:
        raise InvalidArgument("inputs must be a non-empty list of objects")
    if len(rows) > MAX_ROWS:
        raise InvalidArgument(f"at most {MAX_ROWS} rows per request, got {len(rows)}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InvalidArgument(f"inputs[{i}] must be an object", row=i)
        for key in entity_keys:
            value = row.get(key)
            if value is None:
                raise InvalidArgument(f"inputs[{i}]: missing entity key '{key}'", field=key, row=i)
            if not (isinstance(value, str) or _is_int(value)):
                raise InvalidArgument(
                    f"inputs[{i}].{key}: entity key must be an integer or a string, "
                    f"got {type(value).__name__}",
                    field=key,
                    row=i,
                    expected="int64 or string",
                )
        for name, kind in request_fields.items():
            value = row.get(name)
            if value is None:
                raise InvalidArgument(
                    f"inputs[{i}]: missing request field '{name}'", field=name, row=i
                )
            if not TYPE_CHECKS[kind](value):
                raise InvalidArgument(
                    f"inputs[{i}].{name}: expected {kind}, got {type(value).__name__}",
                    field=name,
                    row=i,
                    expected=kind,
                )
    return rows


def entity_key_text(row: Mapping[str, Any], entity_keys: tuple[str, ...]) -> str:
    """``customer_id=7`` (``a=1,b=x`` for composite keys): the sticky key and the log key."""
    return ",".join(f"{k}={row[k]}" for k in entity_keys)
