"""Turn text values into typed Arrow columns, row by row, without losing bad rows.

Raw files arrive as text. Each block of rows is typed with DuckDB ``TRY_CAST``
(fast, vectorised); a value that does not parse leaves its row out of the typed
block and becomes a quarantine record naming the column, the value and the type.
Types are inferred from the first block of a new table (a type wins when at
least ``MIN_PARSE_SHARE`` of the non-empty values parse as it) and taken from the
table's schema afterwards.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

MIN_PARSE_SHARE = 0.8
INFER_ROWS = 20_000
_INT_RE = "[+-]?[0-9]+"

#: Candidate types for text columns, most specific first.
_CANDIDATES: tuple[tuple[str, pa.DataType], ...] = (
    ("BIGINT", pa.int64()),
    ("DOUBLE", pa.float64()),
    ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC")),
    ("BOOLEAN", pa.bool_()),
)


def quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def duck_type(t: pa.DataType) -> str:
    """The DuckDB type a text value is cast to for the Arrow type ``t``."""
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_integer(t):
        return {8: "TINYINT", 16: "SMALLINT", 32: "INTEGER", 64: "BIGINT"}[t.bit_width]
    if pa.types.is_floating(t):
        return "FLOAT" if t.bit_width == 32 else "DOUBLE"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_date(t):
        return "DATE"
    return "VARCHAR"


def _cast_expr(col: str, dtype: str) -> str:
    c = quote(col)
    if dtype in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
        # TRY_CAST('1.5' AS BIGINT) rounds; an integer column must hold integers.
        return f"CASE WHEN regexp_full_match(trim({c}), '{_INT_RE}') THEN TRY_CAST(trim({c}) AS {dtype}) END"
    if dtype == "BOOLEAN":
        return f"CASE lower(trim({c})) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
    if dtype == "VARCHAR":
        return c
    return f"TRY_CAST(trim({c}) AS {dtype})"


class SqlConnection(Protocol):
    """What lake code needs of a DuckDB connection (a cursor or a lake session)."""

    def sql(self, query: str) -> Any: ...
    def execute(self, query: str) -> Any: ...
    def register(self, name: str, obj: object) -> Any: ...
    def unregister(self, name: str) -> Any: ...


_bases: dict[tuple[int, str | None], duckdb.DuckDBPyConnection] = {}
_base_lock = threading.Lock()


def locked_down(root: str | None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read files under ``root`` and nothing else.

    User SQL runs here, so ``read_text('/etc/passwd')``, ``COPY ... TO``, ``ATTACH``
    or ``INSTALL`` are refused by DuckDB itself, whatever the query looks like.
    """
    con = duckdb.connect()
    if root is not None and "://" not in root:
        dirs = sorted({os.path.join(root, ""), os.path.join(os.path.realpath(root), "")})
        con.execute(f"SET allowed_directories=[{', '.join(repr(d) for d in dirs)}]")
    con.execute("SET enable_external_access=false")
    return con


def new_connection(root: str | None = None) -> duckdb.DuckDBPyConnection:
    """A cursor on a process-wide DuckDB that may read only under ``root``.

    ``duckdb.connect`` costs ~20 ms, a cursor nothing. Each cursor is its own
    connection: registrations and settings are private to it.
    """
    key = (os.getpid(), root)  # never share a database across a fork
    with _base_lock:
        base = _bases.get(key)
        if base is None:
            base = _bases[key] = locked_down(root)
        con = base.cursor()
    con.execute("SET TimeZone='UTC'")
    return con


def infer_schema(con: SqlConnection, raw: pa.Table) -> pa.Schema:
    """The most specific type per text column that most non-empty values parse as.

    Looks at the first ``INFER_ROWS`` rows, in one DuckDB pass for all columns.
    """
    sample = raw.slice(0, INFER_ROWS)
    exprs = []
    for name in sample.column_names:
        exprs.append(f"count({quote(name)})")
        exprs += [f"count({_cast_expr(name, d)})" for d, _ in _CANDIDATES]
    con.register("__raw", sample)
    try:
        counts = con.execute(f"SELECT {', '.join(exprs)} FROM __raw").fetchall()[0]
    finally:
        con.unregister("__raw")
    fields = []
    width = len(_CANDIDATES) + 1
    for i, name in enumerate(sample.column_names):
        total, *parsed = counts[i * width : (i + 1) * width]
        chosen: pa.DataType = pa.string()
        if total:
            for (_, arrow_type), n in zip(_CANDIDATES, parsed, strict=True):
                if n / total >= MIN_PARSE_SHARE:
                    chosen = arrow_type
                    break
        fields.append(pa.field(name, chosen))
    return pa.schema(fields)


@dataclass
class TypedBlock:
    good: pa.Table
    bad_index: list[int]
    bad_reasons: list[str]


def type_block(con: SqlConnection, raw: pa.Table, schema: pa.Schema) -> TypedBlock:
    """Cast the text columns of ``raw`` to ``schema``; rows with unparseable values split off."""
    selects, checks = [], []
    for f in schema:
        dtype = duck_type(f.type)
        expr = _cast_expr(f.name, dtype)
        selects.append(f"{expr} AS {quote(f.name)}")
        if dtype != "VARCHAR":
            c = quote(f.name)
            msg = f"'column {f.name}: cannot parse ''' || {c} || ''' as {f.type}'"
            checks.append(f"CASE WHEN {c} IS NOT NULL AND ({expr}) IS NULL THEN {msg} END")
    errors = (
        f"list_filter([{', '.join(checks)}], lambda x: x IS NOT NULL)"
        if checks
        else "[]::VARCHAR[]"
    )
    con.register("__raw", raw)
    try:
        typed = con.sql(
            f"SELECT {', '.join(selects)}, array_to_string({errors}, '; ') AS __errors FROM __raw"
        ).to_arrow_table()
    finally:
        con.unregister("__raw")
    err = typed.column("__errors")
    bad_mask = pc.fill_null(pc.not_equal(err, ""), False)
    good = typed.filter(pc.invert(bad_mask)).drop_columns(["__errors"])
    bad_index = pc.indices_nonzero(bad_mask).to_pylist()
    reasons = err.take(pa.array(bad_index, pa.int64())).to_pylist() if bad_index else []
    return TypedBlock(good=good.cast(schema), bad_index=bad_index, bad_reasons=reasons)
