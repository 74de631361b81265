"""SQL over lake tables: DuckDB reading Delta snapshots as Arrow datasets.

Each table a query names (``bronze.orders``) is registered as a view in a
DuckDB schema named after its layer, backed by the Delta snapshot's Arrow
dataset, so projections and filters are pushed down to the Parquet files (and
files are skipped by their statistics). Dependencies are read from the SQL with
sqlglot; so is column-level lineage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from deltalake import DeltaTable
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from shipyard.errors import InvalidArgument
from shipyard.lake.casting import new_connection, quote

__all__ = ["column_lineage", "connect", "parse", "quote", "referenced_tables", "run"]
from shipyard.lake.models import LAYERS


def parse(sql: str) -> exp.Expression:
    """Parse one DuckDB statement (raises ``InvalidArgument`` on a syntax error)."""
    if not sql or not sql.strip():
        raise InvalidArgument("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        raise InvalidArgument(
            f"SQL syntax error{where}: {first.get('description') or exc}", query=sql
        ) from None
    if len(statements) != 1:
        raise InvalidArgument("exactly one SQL statement is allowed", query=sql)
    return statements[0]


def referenced_tables(sql: str | exp.Expression) -> list[str]:
    """Lake tables (``<layer>.<name>``) a statement reads, in order of appearance."""
    tree = parse(sql) if isinstance(sql, str) else sql
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    out: list[str] = []
    for t in tree.find_all(exp.Table):
        layer = t.db
        if layer in LAYERS and not t.catalog and t.name not in ctes:
            name = f"{layer}.{t.name}"
            if name not in out:
                out.append(name)
    return out


def is_read_only(tree: exp.Expression) -> bool:
    return isinstance(tree, exp.Query | exp.Describe) or (
        isinstance(tree, exp.Command) and tree.name.upper() in ("EXPLAIN", "SUMMARIZE")
    )


def connect(tables: Mapping[str, DeltaTable | pa.Table]) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where every table is a view named ``<layer>.<name>``."""
    con = new_connection()
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    for i, (name, source) in enumerate(tables.items()):
        register(con, name, source, alias=f"__lake_{i}")
    return con


def register(
    con: duckdb.DuckDBPyConnection, name: str, source: DeltaTable | pa.Table, *, alias: str
) -> None:
    layer, _, rest = name.partition(".")
    obj: Any = source.to_pyarrow_dataset() if isinstance(source, DeltaTable) else source
    con.register(alias, obj)
    con.execute(f"CREATE OR REPLACE VIEW {layer}.{quote(rest)} AS SELECT * FROM {alias}")


def run(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Execute and return Arrow; DuckDB errors become ``InvalidArgument``."""
    try:
        rel = con.sql(sql)
        if rel is None:
            return pa.table({})
        return rel.to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidArgument(f"query failed: {str(exc).splitlines()[0]}", query=sql) from None


def column_lineage(sql: str, schemas: Mapping[str, pa.Schema]) -> dict[str, list[str]]:
    """For each output column, the source columns (``bronze.orders.amount``) it is made from."""
    from sqlglot.lineage import lineage

    nested: dict[str, dict[str, str]] = {}
    for name, schema in schemas.items():
        layer, _, rest = name.partition(".")
        nested.setdefault(layer, {})[rest] = {f.name: "VARCHAR" for f in schema}  # type: ignore[assignment]
    tree = parse(sql)
    if not isinstance(tree, exp.Query):
        return {}
    try:
        from sqlglot.optimizer.qualify import qualify

        tree = qualify(tree, schema=nested, dialect="duckdb")
        sql = tree.sql(dialect="duckdb")
    except (SqlglotError, KeyError, ValueError):
        pass  # lineage per column below still works for explicit selects
    out: dict[str, list[str]] = {}
    for column in tree.named_selects:
        try:
            node = lineage(column, sql, schema=nested, dialect="duckdb")
        except (SqlglotError, KeyError, ValueError):
            continue
        found: list[str] = []
        for n in node.walk():
            if not n.downstream and isinstance(n.expression, exp.Table):
                table = n.expression
                col = n.name.split(".")[-1].strip('"')
                ref = f"{table.db}.{table.name}.{col}"
                if table.db in LAYERS and ref not in found:
                    found.append(ref)
        out[column] = found
    return out
