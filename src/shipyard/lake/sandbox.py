"""The SQL sandbox: the one place where SQL written by a user is checked and run.

Every user-SQL entry point (lake SQL, row filters, feature entity sources) goes
through here. Three layers, each enough on its own for the attacks it names:

1. **Parsing.** The text must be exactly one SELECT/WITH query (sqlglot). It may
   read only ``<layer>.<name>`` lake tables and its own CTEs: no table functions
   (``read_parquet``, ``glob``, ``read_text``...), no file paths, no three-part
   names into another session's catalog, no functions that reveal settings.
   What runs is sqlglot's rendering of the checked tree, never the raw text, so
   a parser difference cannot smuggle a second statement past the check.
2. **Visibility.** The DuckDB session holds views of the tables the caller was
   authorized to read, and nothing else (the caller's service does the check).
3. **A locked connection.** User SQL runs on its own in-memory DuckDB whose
   configuration is locked after set-up: external access limited to the lake
   root, no extension loading, no Python replacement scans, a memory limit.
   ``SET``/``PRAGMA`` fail there whatever the text looks like.

Limits (``lake.sql_timeout``, ``lake.sql_memory_limit``, ``lake.sql_max_rows``)
end a query with ``QuotaExceeded`` and a one-line message naming the setting.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from shipyard.errors import InvalidArgument, QuotaExceeded
from shipyard.lake import query
from shipyard.lake.casting import locked_down
from shipyard.lake.models import LAYERS

#: Function name prefixes user SQL may not call: file readers, catalog and
#: settings introspection, other query entry points.
DENIED_PREFIXES = (
    "read_",
    "glob",
    "parquet_",
    "sniff_csv",
    "delta_scan",
    "iceberg_",
    "current_setting",
    "getvariable",
    "getenv",
    "duckdb_",
    "pragma_",
    "query",
    "sql_auto_complete",
    "which_secret",
    "load_aws_credentials",
    "arrow_scan",
    "pandas_scan",
)


@dataclass(frozen=True)
class SqlLimits:
    timeout: float
    memory_limit: str
    max_rows: int


def check_query(sql: str) -> exp.Query:
    """Parse ``sql`` as one SELECT/WITH query over lake tables, or raise ``InvalidArgument``."""
    tree = query.parse(sql)
    if not isinstance(tree, exp.Query):
        kind = tree.key.upper() if isinstance(tree, exp.Expr) else "statement"
        raise InvalidArgument(
            f"only one SELECT or WITH query is allowed, not {kind}", statement=kind.lower()
        )
    _check_tree(tree)
    return tree


def check_filter(predicate: str) -> exp.Expr:
    """Parse a row filter as one boolean expression over the table's own columns."""
    if not predicate or not predicate.strip():
        raise InvalidArgument("the filter is empty")
    try:
        cond = sqlglot.condition(predicate, dialect="duckdb")
    except (SqlglotError, ValueError):
        raise InvalidArgument(
            "the filter must be one SQL expression over the table's columns "
            "(e.g. amount > 10 AND country = 'DE')"
        ) from None
    if any(True for _ in cond.find_all(exp.Table, exp.Subquery, exp.Query)):
        raise InvalidArgument("a filter cannot contain a subquery")
    _check_functions(cond)
    return cond


def _check_tree(tree: exp.Expr) -> None:
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for t in tree.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            raise InvalidArgument(
                "table functions (read_parquet, glob, ...) are not allowed: "
                "query lake tables as <layer>.<name>"
            )
        if t.catalog or (t.db and t.db not in LAYERS) or (not t.db and t.name not in ctes):
            raise InvalidArgument(
                f"unknown table '{t.sql(dialect='duckdb')}': name lake tables as "
                f"<layer>.<name> (layers: {', '.join(LAYERS)})"
            )
    _check_functions(tree)


def _check_functions(tree: exp.Expr) -> None:
    for f in tree.find_all(exp.Func):
        name = (f.name if isinstance(f, exp.Anonymous) else f.sql_name()).lower()
        if name.startswith(DENIED_PREFIXES) or type(f).__name__.lower().startswith("read"):
            raise InvalidArgument(f"function {name}() is not allowed in lake SQL")


# -- the locked connection -------------------------------------------------------------

_bases: dict[tuple[int, str | None, str], duckdb.DuckDBPyConnection] = {}
_BATCH_ROWS = 100_000
_lock = threading.Lock()


def _base(root: str | None, memory_limit: str) -> duckdb.DuckDBPyConnection:
    key = (os.getpid(), root, memory_limit)  # never share a database across a fork
    with _lock:
        base = _bases.get(key)
        if base is None:
            base = locked_down(root)
            base.execute("SET GLOBAL TimeZone='UTC'")
            base.execute(f"SET memory_limit='{memory_limit}'")
            base.execute("SET python_enable_replacements=false")
            base.execute("SET autoinstall_known_extensions=false")
            base.execute("SET autoload_known_extensions=false")
            base.execute("SET lock_configuration=true")
            _bases[key] = base
        return base.cursor()


def run(
    tables: Mapping[str, query.Source],
    tree: exp.Query,
    *,
    root: str | None,
    limits: SqlLimits,
) -> pa.Table:
    """Run a checked query over ``tables`` (already authorized) within ``limits``."""
    session = query.connect(tables, root=root, con=_base(root, limits.memory_limit))
    timer = threading.Timer(limits.timeout, session.con.interrupt)
    timer.daemon = True
    timer.start()
    try:
        rel = session.sql(tree.sql(dialect="duckdb"))
        if rel is None:
            return pa.table({})
        # Stream the result and stop one batch past the cap: a wrapping LIMIT would
        # cost a second plan (~0.4 ms), a full fetch the memory of a huge result.
        reader = rel.to_arrow_reader(batch_size=_BATCH_ROWS)
        batches: list[pa.RecordBatch] = []
        rows = 0
        try:
            for batch in reader:
                batches.append(batch)
                rows += batch.num_rows
                if rows > limits.max_rows:
                    break
        finally:
            reader.close()  # the connection has an open result until then
        result = pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException:
        raise QuotaExceeded(
            f"query ran longer than {limits.timeout:g} s (lake.sql_timeout)", limit="sql_timeout"
        ) from None
    except duckdb.OutOfMemoryException:
        raise QuotaExceeded(
            f"query needs more memory than {limits.memory_limit} (lake.sql_memory_limit)",
            limit="sql_memory_limit",
        ) from None
    except (duckdb.Error, pa.ArrowException) as exc:
        if "interrupt" in str(exc).lower():
            raise QuotaExceeded(
                f"query ran longer than {limits.timeout:g} s (lake.sql_timeout)",
                limit="sql_timeout",
            ) from None
        if "out of memory" in str(exc).lower():
            raise QuotaExceeded(
                f"query needs more memory than {limits.memory_limit} (lake.sql_memory_limit)",
                limit="sql_memory_limit",
            ) from None
        raise InvalidArgument(f"query failed: {_scrub(str(exc), root)}") from None
    finally:
        timer.cancel()
        session.close()
    if result.num_rows > limits.max_rows:
        raise QuotaExceeded(
            f"query returns more than {limits.max_rows:,} rows (lake.sql_max_rows): "
            "add a LIMIT or aggregate",
            limit="sql_max_rows",
        )
    return result


def _scrub(message: str, root: str | None) -> str:
    """First line of a DuckDB error, without the server's lake path."""
    line = message.splitlines()[0] if message else "error"
    if root:
        for r in {os.path.join(os.path.realpath(root), ""), os.path.join(root, "")}:
            line = line.replace(r, "<lake>/")
    return line
