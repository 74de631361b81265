"""Definitions and frames as JSON, shared by the HTTP routes and the remote client.

A definition travels as ``{kind, name, owner, tags, spec}``. On-demand views are
not accepted over HTTP: their spec carries Python source that the server would
run, so they are applied in-process by someone who can already run code there.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa

from shipyard.errors import InvalidArgument
from shipyard.features.models import DEFINITION_KINDS

#: The media type of an Arrow IPC stream (frames and lake rows in bulk).
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def definition_to_wire(obj: Any) -> dict[str, Any]:
    if getattr(obj, "kind", None) not in DEFINITION_KINDS:
        raise InvalidArgument(f"{obj!r} is not a feature definition")
    return {
        "kind": obj.kind,
        "name": obj.name,
        "owner": obj.owner,
        "tags": list(obj.tags),
        "spec": obj.to_spec(),
    }


def definition_from_wire(data: Any, *, allow_code: bool = False) -> Any:
    """Rebuild a definition from its wire form.

    Raises:
        InvalidArgument: an unknown kind, a malformed spec, or an on-demand view
            without ``allow_code``.
    """
    if not isinstance(data, dict):
        raise InvalidArgument("a definition is an object with kind, name and spec")
    kind = data.get("kind")
    cls = DEFINITION_KINDS.get(str(kind))
    if cls is None:
        raise InvalidArgument(
            f"unknown definition kind {kind!r} (one of {', '.join(DEFINITION_KINDS)})"
        )
    if kind == "on_demand_feature_view" and not allow_code:
        raise InvalidArgument(
            "on-demand feature views carry Python code and are applied in-process, not over HTTP"
        )
    try:
        return cls.from_spec(data["name"], data["spec"], data.get("owner"), data.get("tags") or [])
    except (KeyError, TypeError) as exc:
        raise InvalidArgument(f"malformed {kind} definition: missing or bad {exc}") from None


def jsonable(value: Any) -> Any:
    """Datetimes as ISO strings, recursively (httpx's encoder knows no datetimes)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def table_to_wire(table: pa.Table) -> dict[str, Any]:
    """A small result table as ``{columns: [{name, type}], rows: [...]}``."""
    columns = [{"name": f.name, "type": str(f.type)} for f in table.schema]
    return {"columns": columns, "rows": table.to_pylist()}


def frame_from_wire(data: dict[str, Any]) -> Any:
    import pandas as pd

    names = [c["name"] for c in data["columns"]]
    df = pd.DataFrame(data["rows"], columns=names)
    for c in data["columns"]:
        if c["type"].startswith("timestamp"):
            df[c["name"]] = pd.to_datetime(df[c["name"]], utc="tz=" in c["type"])
    return df


def frame_to_records(df: Any) -> list[dict[str, Any]]:
    """A pandas frame (or Arrow table) as JSON-ready records."""
    from shipyard.features.entities import frame_to_arrow

    table = df if isinstance(df, pa.Table) else frame_to_arrow(df)
    return jsonable(table.to_pylist())


def to_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def from_ipc(body: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.BufferReader(body)).read_all()
