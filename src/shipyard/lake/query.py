"""SQL over lake tables: DuckDB reading Delta snapshots as Arrow datasets.

Each table a query names (``bronze.orders``) is registered as a view in a
DuckDB schema named after its layer, backed by the Delta snapshot's Arrow
dataset, so projections and filters are pushed down to the Parquet files (and
files are skipped by their statistics). Dependencies are read from the SQL with
sqlglot; so is column-level lineage.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa
import sqlglot
from deltalake import DeltaTable
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError

from shipyard.errors import InvalidArgument
from shipyard.lake.casting import SqlConnection, new_connection, quote

__all__ = [
    "ParquetFiles",
    "Source",
    "column_lineage",
    "connect",
    "native_files",
    "parse",
    "quote",
    "referenced_tables",
    "run",
]
from shipyard.lake.models import LAYERS
from shipyard.lake.storage import arrow_schema


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
    except SqlglotError as exc:  # e.g. an unterminated string (TokenError)
        raise InvalidArgument(f"SQL syntax error: {str(exc).splitlines()[0]}", query=sql) from None
    if len(statements) != 1:
        raise InvalidArgument("exactly one SQL statement is allowed", query=sql)
    statement: exp.Expression = statements[0]  # type: ignore[assignment]
    return statement


def referenced_tables(sql: str | exp.Expr) -> list[str]:
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


class Session:
    """A private namespace on the shared DuckDB: its own in-memory catalog, so that
    concurrent queries can each have their own ``bronze.orders`` view."""

    def __init__(
        self, root: str | None = None, con: duckdb.DuckDBPyConnection | None = None
    ) -> None:
        self.con = con if con is not None else new_connection(root)
        self.catalog = f"lake_{uuid.uuid4().hex[:16]}"
        self.con.execute(f"ATTACH ':memory:' AS {self.catalog}")
        self.con.execute(f"USE {self.catalog}")
        for layer in LAYERS:
            self.con.execute(f"CREATE SCHEMA {layer}")

    def sql(self, query: str) -> Any:
        return self.con.sql(query)

    def execute(self, query: str) -> Any:
        return self.con.execute(query)

    def register(self, name: str, obj: object) -> Any:
        return self.con.register(name, obj)

    def unregister(self, name: str) -> Any:
        return self.con.unregister(name)

    def close(self) -> None:
        try:
            self.con.execute("USE memory")
            self.con.execute(f"DETACH {self.catalog}")
        finally:
            self.con.close()


@dataclass(frozen=True)
class ParquetFiles:
    """Some local Parquet files of a table (those its latest appends added, say)."""

    paths: list[str]
    schema: pa.Schema


Source: TypeAlias = DeltaTable | pa.Table | ParquetFiles


def connect(
    tables: Mapping[str, Source],
    *,
    root: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> Session:
    """A DuckDB session where every table is a view named ``<layer>.<name>``.

    The session may read files under the lake ``root`` only (see ``casting``); it
    runs on ``con`` when given (the SQL sandbox's locked connection).
    """
    session = Session(root, con)
    try:
        for i, (name, source) in enumerate(tables.items()):
            register(session, name, source, alias=f"__lake_{i}")
    except BaseException:
        session.close()
        raise
    return session


def register(con: Session, name: str, source: Source, *, alias: str) -> None:
    layer, _, rest = name.partition(".")
    view = f"{layer}.{quote(rest)}"
    if isinstance(source, DeltaTable | ParquetFiles):
        files = source.paths if isinstance(source, ParquetFiles) else _native_files(source)
        schema = source.schema if isinstance(source, ParquetFiles) else arrow_schema(source)
        if files:
            cols = ", ".join(quote(f.name) for f in schema)
            try:
                con.execute(
                    f"CREATE OR REPLACE VIEW {view} AS SELECT {cols} FROM "
                    f"read_parquet({_sql_list(files)}, union_by_name = true)"
                )
                return
            except duckdb.Error:
                pass  # e.g. a column no file has yet: let Arrow fill it in
    obj: Any = source
    if isinstance(source, DeltaTable):
        obj = source.to_pyarrow_dataset()
    elif isinstance(source, ParquetFiles):
        obj = _files_dataset(source)
    con.register(alias, obj)
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {alias}")


def _files_dataset(source: ParquetFiles) -> Any:
    if not source.paths:
        return source.schema.empty_table()
    import pyarrow.dataset as ds

    return ds.dataset(source.paths, schema=source.schema, format="parquet")


def native_files(dt: DeltaTable) -> list[str]:
    """Local Parquet files of a snapshot that DuckDB may read directly, or []."""
    return _native_files(dt)


def _native_files(dt: DeltaTable) -> list[str]:
    """Local Parquet files of a snapshot that DuckDB may read directly, or [].

    The snapshot is exactly its files when there are no deletion vectors, no
    column mapping and no partition columns (values not stored in the files).
    """
    protocol = dt.protocol()
    features = set(protocol.reader_features or [])
    if features & {"deletionVectors", "columnMapping"} or dt.metadata().partition_columns:
        return []
    files = list(dt.file_uris())
    if any("://" in f for f in files):
        return []  # remote storage: DuckDB has no object store here, Arrow does
    return files


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]"


def run(con: SqlConnection, sql: str) -> pa.Table:
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

    nested: dict[str, Any] = {}
    for name, schema in schemas.items():
        layer, _, rest = name.partition(".")
        nested.setdefault(layer, {})[rest] = {f.name: "VARCHAR" for f in schema}
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
