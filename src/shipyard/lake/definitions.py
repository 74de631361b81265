"""Validate table definitions against their sources, and order them by dependency."""

from __future__ import annotations

import graphlib
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from shipyard.errors import InvalidArgument, NotFound
from shipyard.lake import query, sandbox
from shipyard.lake.models import TableDefinition, parse_table_name
from shipyard.lake.refresh import _run, sources_of
from shipyard.lake.storage import META_OPERATION, META_PRINCIPAL, LakeStorage, arrow_schema
from shipyard.lake.writes import TABLE_CONFIG


def _validate_shape(d: TableDefinition) -> list[str]:
    if (d.sql is None) == (d.function is None):
        raise InvalidArgument(
            f"define '{d.name}' with exactly one of sql= or function=", table=d.name
        )
    if d.sql is not None:
        try:
            sandbox.check_query(d.sql)  # one SELECT over lake tables, no file or setting function
        except InvalidArgument as exc:
            raise InvalidArgument(f"the SQL of '{d.name}': {exc.message}", table=d.name) from None
    sources = sources_of(d)
    if not sources:
        raise InvalidArgument(
            f"'{d.name}' reads no lake table; name its sources as <layer>.<name>", table=d.name
        )
    for s in sources:
        parse_table_name(s)
    if d.name in sources:
        raise InvalidArgument(f"'{d.name}' cannot read itself", table=d.name)
    return sources


def result_schema(
    storage: LakeStorage, d: TableDefinition, function: Callable[..., Any] | None = None
) -> tuple[pa.Schema, dict[str, pa.Schema]]:
    """The definition's output schema, computed over empty copies of its sources."""
    sources = _validate_shape(d)
    schemas: dict[str, pa.Schema] = {}
    for s in sources:
        if not storage.exists(s):
            raise NotFound(
                f"'{d.name}' reads '{s}', which does not exist yet; ingest or define it first",
                table=d.name,
                source=s,
            )
        schemas[s] = arrow_schema(storage.open(s))
    con = query.connect({s: sch.empty_table() for s, sch in schemas.items()})
    try:
        out = _run(con, d, function or d.function)
    finally:
        con.close()
    return out.schema, schemas


def prepare(
    storage: LakeStorage, d: TableDefinition, principal: str
) -> tuple[bool, dict[str, list[str]]]:
    """Check the definition and create its empty table; returns (created, column lineage)."""
    schema, sources = result_schema(storage, d)
    names = schema.names
    for label, cols in (("dedupe_on", d.dedupe_on), ("primary_key", d.primary_key)):
        missing = [c for c in cols or [] if c not in names]
        if missing:
            raise InvalidArgument(
                f"{label} of '{d.name}' names column(s) {', '.join(missing)} that the query "
                f"does not produce (it produces {', '.join(names)})",
                table=d.name,
            )
    for e in d.expectations:
        missing = [c for c in e.columns if c not in names]
        if missing:
            raise InvalidArgument(
                f"expectation '{e.name}' of '{d.name}' names unknown column(s) "
                f"{', '.join(missing)}",
                table=d.name,
            )
    lineage = query.column_lineage(d.sql, sources) if d.sql else {}
    if storage.exists(d.name):
        return False, lineage
    storage.write(
        d.name,
        pa.schema([pa.field(f.name, _plain(f.type)) for f in schema]).empty_table(),
        mode="append",
        configuration=TABLE_CONFIG,
        metadata={META_PRINCIPAL: principal, META_OPERATION: "define"},
    )
    return True, lineage


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_null(t):
        return pa.string()
    return t


def dependency_order(defs: Sequence[TableDefinition]) -> list[TableDefinition]:
    """Definitions ordered so that every table comes after the defined tables it reads."""
    by_name = {d.name: d for d in defs}
    graph = graphlib.TopologicalSorter(
        {d.name: [s for s in sources_of(d) if s in by_name] for d in defs}
    )
    try:
        order = list(graph.static_order())
    except graphlib.CycleError as exc:
        raise InvalidArgument(f"table definitions form a cycle: {exc.args[1]}") from None
    return [by_name[n] for n in order]
