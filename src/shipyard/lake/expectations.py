"""Evaluate expectations on a block of rows in one DuckDB pass.

Each expectation becomes a SQL predicate that is true for a *failing* row
(NULLs pass every rule except ``not_null``, as in dbt). Rows failing a
``quarantine`` expectation are split off with the names of every expectation
they failed; a ``fail`` expectation with failures aborts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidArgument
from shipyard.lake.casting import SqlConnection, quote
from shipyard.lake.models import Expectation, ExpectationResult

FAILED_COLUMN = "_failed_expectations"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def failing_predicate(e: Expectation) -> str:
    cols = [quote(c) for c in e.columns]
    if e.kind == "not_null":
        return f"{cols[0]} IS NULL"
    if e.kind == "unique":
        keys = ", ".join(cols)
        return f"(count(*) OVER (PARTITION BY {keys}) > 1 AND NOT ({' AND '.join(f'{c} IS NULL' for c in cols)}))"
    if e.kind == "range":
        parts = []
        if e.min is not None:
            parts.append(f"{cols[0]} < {_literal(e.min)}")
        if e.max is not None:
            parts.append(f"{cols[0]} > {_literal(e.max)}")
        return " OR ".join(parts)
    if e.kind == "accepted_values":
        values = ", ".join(_literal(v) for v in e.values or [])
        return f"{cols[0]} NOT IN ({values})"
    if e.kind == "regex":
        return f"NOT regexp_matches(CAST({cols[0]} AS VARCHAR), {_literal(e.pattern)})"
    if e.kind == "vector":  # ``min`` holds the dimension
        return (
            f"(len({cols[0]}) <> {int(e.min or 0)} OR "
            f"list_bool_or(list_transform({cols[0]}, lambda x: isnan(x) OR x IS NULL)))"
        )
    return f"NOT ({e.predicate})"


@dataclass
class Checked:
    good: pa.Table
    quarantined: pa.Table  # the failing rows plus ``_failed_expectations``
    results: list[ExpectationResult]


def check(
    con: SqlConnection, data: pa.Table, expectations: list[Expectation], *, table: str
) -> Checked:
    """Apply ``expectations`` to ``data``.

    Raises:
        InvalidArgument: an expectation names a missing column or its SQL is invalid,
            or a ``fail`` expectation has failing rows (nothing is written).
    """
    if not expectations:
        return Checked(data, data.slice(0, 0), [])
    for e in expectations:
        missing = [c for c in e.columns if c not in data.column_names]
        if missing:
            raise InvalidArgument(
                f"expectation '{e.name}' on '{table}' names unknown column(s) {', '.join(missing)}",
                table=table,
                expectation=e.name,
            )
    flags = [
        f"coalesce(({failing_predicate(e)}), FALSE) AS __e{i}" for i, e in enumerate(expectations)
    ]
    quarantine = [f"__e{i}" for i, e in enumerate(expectations) if e.action == "quarantine"]
    labels = ", ".join(
        f"CASE WHEN __e{i} THEN {_literal(e.name)} END" for i, e in enumerate(expectations)
    )
    con.register("__check", data)
    try:
        flagged = con.sql(
            f"SELECT *, {' OR '.join(quarantine) or 'FALSE'} AS __q, "
            f"list_filter([{labels}], lambda x: x IS NOT NULL) AS __names "
            f"FROM (SELECT {', '.join(flags)} FROM __check)"
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidArgument(
            f"cannot evaluate expectations of '{table}': {str(exc).splitlines()[0]}", table=table
        ) from None
    finally:
        con.unregister("__check")
    results = []
    for i, e in enumerate(expectations):
        failed = int(pc.sum(flagged.column(f"__e{i}")).as_py() or 0)
        results.append(
            ExpectationResult(
                name=e.name, passed=data.num_rows - failed, failed=failed, action=e.action
            )
        )
    fatal = [r for r in results if r.action == "fail" and r.failed]
    if fatal:
        names = ", ".join(f"{r.name} ({r.failed} rows)" for r in fatal)
        raise InvalidArgument(
            f"refresh of '{table}' aborted: expectation {names} failed; nothing was written",
            table=table,
            expectations=[r.model_dump() for r in fatal],
        )
    mask = flagged.column("__q")
    good = data.filter(pc.invert(mask))
    failed_names = flagged.column("__names").filter(mask).cast(pa.list_(pa.string()))
    bad = data.filter(mask).append_column(FAILED_COLUMN, failed_names)
    return Checked(good, bad, results)
