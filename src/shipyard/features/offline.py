"""Feature views in DuckDB: reading a view's source, its types and time columns.

The point-in-time join itself is ``pit.py``; materialization is ``materialize.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from shipyard.errors import InvalidArgument
from shipyard.features.models import FeatureView, vector_dimension
from shipyard.features.sources import OpenTable

DUCK_TYPES = {
    "float64": "DOUBLE",
    "float32": "FLOAT",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
}


def duck_type(dtype: str) -> str:
    """The DuckDB type of a feature value type (``vector[N]`` is ``FLOAT[N]``)."""
    dim = vector_dimension(dtype)
    return f"FLOAT[{dim}]" if dim is not None else DUCK_TYPES[dtype]


@dataclass
class ViewQuery:
    """One view's part of a retrieval: which features, named how, from which table version."""

    view: FeatureView
    table: OpenTable
    features: list[str]
    out_names: list[str]
    join_keys: list[str]

    @property
    def tz(self) -> bool:
        """Whether the view's event time is stored zone-aware (then compared as TIMESTAMPTZ)."""
        return zoned(self.table.schema, self.view.timestamp_field)


def q(name: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def connect(spill_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory='{spill_dir}'")
    return con


def check_source(view: FeatureView, schema: pa.Schema, join_keys: list[str]) -> None:
    """Raise ``InvalidArgument`` naming what the source table lacks."""
    names = set(schema.names)
    need = [view.timestamp_field, *join_keys, *view.feature_names]
    if view.created_timestamp_field:
        need.append(view.created_timestamp_field)
    missing = [c for c in need if c not in names]
    if missing:
        raise InvalidArgument(
            f"source table '{view.source_table}' of feature view '{view.name}' has no "
            f"column(s) {', '.join(missing)} (it has {', '.join(schema.names)})",
            view=view.name,
            missing=missing,
        )
    ts_type = schema.field(view.timestamp_field).type
    if not (pa.types.is_timestamp(ts_type) or pa.types.is_date(ts_type)):
        raise InvalidArgument(
            f"timestamp field '{view.timestamp_field}' of '{view.source_table}' is {ts_type},"
            " not a timestamp",
            view=view.name,
        )


def attach(con: duckdb.DuckDBPyConnection, alias: str, table: OpenTable) -> None:
    """Make ``table`` queryable as ``alias``: native Parquet scan when possible."""
    if table.files:
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in table.files)
        # __rid: a row's identity in this snapshot (file index, row in file), so a join
        # can fetch the columns of a few rows after choosing them on a few columns.
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {alias} AS SELECT *, "
            f"(file_index::BIGINT << 40) | file_row_number AS __rid FROM read_parquet([{files}])"
        )
    else:
        con.register(alias, table.dataset)


def detach(con: duckdb.DuckDBPyConnection, alias: str, table: OpenTable) -> None:
    if table.files:
        con.execute(f"DROP VIEW IF EXISTS {alias}")
    else:
        con.unregister(alias)


def zoned(schema: pa.Schema, column: str) -> bool:
    """Whether ``column`` is a zone-aware timestamp (compared as TIMESTAMPTZ, no cast)."""
    t = schema.field(column).type
    return pa.types.is_timestamp(t) and t.tz is not None


def _ts_expr(column: str, tz: bool, schema: pa.Schema) -> str:
    """``column`` as the view's time type; a cast only where the stored type differs."""
    t = schema.field(column).type
    if pa.types.is_timestamp(t) and (t.tz is not None) == tz:
        return q(column)
    return f"CAST({q(column)} AS {'TIMESTAMPTZ' if tz else 'TIMESTAMP'})"


def literal(ts: datetime, tz: bool) -> str:
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    text = ts.isoformat(sep=" ")
    return f"TIMESTAMPTZ '{text}+00'" if tz else f"TIMESTAMP '{text}'"


def min_ts(tz: bool) -> str:
    return "TIMESTAMPTZ '0001-01-01 00:00:00+00'" if tz else "TIMESTAMP '0001-01-01 00:00:00'"


def source_sql(
    vq: ViewQuery, src: str, *, lo: str | None = None, hi: str | None = None, row_id: bool = False
) -> str:
    """The projected source rows: keys, ``__ets``, ``__cts``, typed features (and ``__rid``).

    ``__ets``/``__cts`` keep the stored timestamp type (casting every row of a big
    table costs more than the join); ``vq.tz`` says which type that is.
    """
    v, schema = vq.view, vq.table.schema
    cols = [q(k) for k in vq.join_keys]
    ets = _ts_expr(v.timestamp_field, vq.tz, schema)
    cols.append(f"{ets} AS __ets")
    created = (
        _ts_expr(v.created_timestamp_field, vq.tz, schema)
        if v.created_timestamp_field
        else f"CAST(NULL AS {'TIMESTAMPTZ' if vq.tz else 'TIMESTAMP'})"
    )
    cols.append(f"{created} AS __cts")
    types = {f.name: f.dtype for f in v.features}
    cols += [f"CAST({q(f)} AS {duck_type(types[f])}) AS {q(f)}" for f in vq.features]
    if row_id:
        cols.append("__rid")
    where = [f"{ets} >= {lo}"] if lo is not None else []
    if hi is not None:
        where.append(f"{ets} <= {hi}")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {', '.join(cols)} FROM {src}{clause}"
