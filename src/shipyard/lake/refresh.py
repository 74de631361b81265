"""Compute a curated table from its sources: full or incremental by Delta version.

State lives in the target's own Delta commits: every refresh commit carries the
source versions it read and a hash of the definition, in the same commit as the
rows. So a refresh killed half-way leaves the table at its previous version and
a rerun redoes exactly the missing work; a refresh that already committed is a
no-op when rerun.

Incremental mode reads only the rows appended to the primary source since the
recorded version (the add actions of append commits); other sources are read whole (like a
stream-static join). A source change that is not a pure append (update, delete,
overwrite, restore), a changed definition or ``full=True`` recompute everything.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import DeltaError

from shipyard.errors import Conflict, InvalidArgument
from shipyard.lake import expectations as checks
from shipyard.lake import query
from shipyard.lake import schema as schemas
from shipyard.lake.casting import SqlConnection, quote
from shipyard.lake.models import ExpectationResult, TableDefinition, quarantine_name
from shipyard.lake.storage import (
    META_DEFINITION,
    META_OPERATION,
    META_PRINCIPAL,
    META_SOURCES,
    TXN_PREFIX,
    LakeStorage,
    arrow_schema,
)
from shipyard.lake.writes import TABLE_CONFIG

CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
HISTORY_SCAN = 200


def definition_hash(d: TableDefinition) -> str:
    body = d.model_dump(mode="json", exclude={"description", "owner", "tags", "columns"})
    if d.function is not None:
        body["function"] = f"{d.function.__module__}:{d.function.__qualname__}"
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def sources_of(d: TableDefinition) -> list[str]:
    if d.sources:
        return list(d.sources)
    if d.sql:
        found = list(_tables_in(d.sql))
        if d.source and d.source not in found:
            found.insert(0, d.source)
        return found
    return [d.source] if d.source else []


@functools.lru_cache(maxsize=256)
def _tables_in(sql: str) -> tuple[str, ...]:
    # Parsing is the slowest part of a small incremental refresh; definitions repeat.
    return tuple(query.referenced_tables(sql))


def last_state(dt: DeltaTable) -> tuple[dict[str, int], str | None]:
    """Source versions and definition hash of the table's latest refresh commit.

    The refresh commit is almost always the newest, so a few commits are read
    first and the longer scan happens only after maintenance commits.
    """
    for limit in (4, HISTORY_SCAN):
        entries = dt.history(limit)
        for entry in entries:
            if META_SOURCES in entry:
                return json.loads(entry[META_SOURCES]), entry.get(META_DEFINITION)
            if entry.get("operation") == "RESTORE":
                return {}, None  # content went back in time: recompute
        if len(entries) < limit:
            break
    return {}, None


@dataclass
class Computed:
    data: pa.Table
    quarantined: pa.Table
    results: list[ExpectationResult]
    mode: str
    versions: dict[str, int]
    rows_in: int = 0
    target: DeltaTable | None = None  # the snapshot the rows were computed against
    extra: dict[str, Any] = field(default_factory=dict)


def compute(
    storage: LakeStorage,
    d: TableDefinition,
    *,
    full: bool,
    function: Callable[..., Any] | None,
) -> Computed | None:
    """The rows to write (``None``: nothing changed upstream since the last refresh)."""
    sources = sources_of(d)
    snaps = {s: storage.open(s) for s in sources}
    versions = {s: dt.version() for s, dt in snaps.items()}
    target = storage.open(d.name)
    done, def_hash = last_state(target)
    mode = "full"
    inputs: dict[str, query.Source] = dict(snaps)
    primary = d.source or (sources[0] if sources else None)
    same_def = def_hash == definition_hash(d)
    if not full and same_def and done and done == versions:
        return None
    if d.incremental and not full and same_def and primary in done and primary:
        appended = _appended(snaps[primary], done[primary], versions[primary])
        if appended is not None:
            inputs[primary] = appended
            mode = "incremental"
    con = query.connect(inputs, root=storage.root)
    try:
        result = _run(con, d, function)
        result = dedupe(con, result, d.dedupe_on or d.primary_key)
        checked = checks.check(con, result, d.expectations, table=d.name)
    finally:
        con.close()
    return Computed(
        checked.good,
        checked.quarantined,
        checked.results,
        mode,
        versions,
        rows_in=result.num_rows,
        target=target,
    )


APPEND_OPERATIONS = ("WRITE", "STREAMING UPDATE", "CREATE TABLE")


def _appended(dt: DeltaTable, since: int, until: int) -> pa.Table | query.ParquetFiles | None:
    """Rows appended between two versions, or ``None`` if anything else changed.

    After appends only, they are exactly the files added since ``since``, which
    DuckDB then reads directly; after a compaction (or on remote storage) they
    are read from the commits' add actions by deltalake.
    """
    if until <= since:
        return arrow_schema(dt).empty_table()
    operations = _operations(dt, since, until)
    if operations is None:
        return None
    if operations <= set(APPEND_OPERATIONS):
        files = _added_files(dt, since)
        if files is not None:
            return files
    try:
        changes = pa.table(dt.load_cdf(starting_version=since + 1, ending_version=until))
    except (DeltaError, OSError, ValueError):
        return None  # the changes cannot be read: recompute
    kinds = set(changes.column("_change_type").to_pylist()) if changes.num_rows else set()
    if kinds - {"insert"}:
        return None
    data = changes.drop_columns([c for c in CDF_COLUMNS if c in changes.column_names])
    return schemas.align(data, arrow_schema(dt))


def _operations(dt: DeltaTable, since: int, until: int) -> set[str] | None:
    """The operations committed after ``since``; ``None`` if one is not an append."""
    found: set[str] = set()
    for entry in dt.history(until - since):
        if entry.get("version", until) <= since:
            continue
        op = entry.get("operation", "")
        if op not in (*APPEND_OPERATIONS, "OPTIMIZE"):
            return None
        if op == "WRITE" and entry.get("operationParameters", {}).get("mode") == "Overwrite":
            return None
        found.add(op)
    return found


def _added_files(dt: DeltaTable, since: int) -> query.ParquetFiles | None:
    """The local files added since version ``since`` (only appends happened since)."""
    files = query.native_files(dt)
    if not files:
        return None
    try:
        before = set(DeltaTable(dt.table_uri, version=since).file_uris())
    except (DeltaError, OSError, ValueError):
        return None  # e.g. that version's log was cleaned up
    return query.ParquetFiles([f for f in files if f not in before], arrow_schema(dt))


def _run(con: SqlConnection, d: TableDefinition, function: Callable[..., Any] | None) -> pa.Table:
    if d.sql:
        return query.run(con, d.sql)
    if function is None:
        raise InvalidArgument(
            f"'{d.name}' is defined by a Python function that is not registered in this "
            "process; define it again here before refreshing",
            table=d.name,
        )
    out = function(con)
    if isinstance(out, duckdb.DuckDBPyRelation):
        return out.to_arrow_table()
    if isinstance(out, pa.Table):
        return out
    if hasattr(out, "to_arrow_table"):
        return out.to_arrow_table()
    raise InvalidArgument(f"the function of '{d.name}' must return a pyarrow.Table or relation")


def dedupe(con: SqlConnection, data: pa.Table, keys: list[str] | None) -> pa.Table:
    """One row per key: the latest ``_ingested_at`` (then the last one read)."""
    if not keys or data.num_rows == 0:
        return data
    missing = [k for k in keys if k not in data.column_names]
    if missing:
        raise InvalidArgument(f"dedupe_on names unknown column(s) {', '.join(missing)}")
    order = "__pos DESC"
    if "_ingested_at" in data.column_names:
        order = "_ingested_at DESC, __pos DESC"
    tagged = data.append_column("__pos", pa.array(np.arange(data.num_rows, dtype=np.int64)))
    con.register("__dedupe", tagged)
    try:
        part = ", ".join(quote(k) for k in keys)
        out = con.sql(
            f"SELECT * EXCLUDE (__pos, __rn) FROM (SELECT *, row_number() OVER "
            f"(PARTITION BY {part} ORDER BY {order}) AS __rn FROM __dedupe) "
            "WHERE __rn = 1 ORDER BY __pos"
        ).to_arrow_table()
    finally:
        con.unregister("__dedupe")
    return out.cast(data.schema)


def commit(
    storage: LakeStorage,
    d: TableDefinition,
    c: Computed,
    *,
    principal: str,
) -> tuple[DeltaTable, DeltaTable | None]:
    """Write quarantine then the table; returns both as committed (no quarantine: None)."""
    # A full recompute is keyed apart from the incremental refresh of the same source
    # versions: otherwise ``full=True`` after an incremental refresh would find "its"
    # work done and write nothing (and could never repair what increments drifted on).
    state: list[Any] = [c.versions, definition_hash(d)] + (["full"] if c.mode == "full" else [])
    key = "refresh:" + hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:24]
    qdt: DeltaTable | None = None
    if c.quarantined.num_rows:
        qname = quarantine_name(d.name)
        qdt = storage.find(qname)
        if qdt is None or not storage.applied(qdt, key):
            q = c.quarantined
            qschema = arrow_schema(qdt) if qdt is not None else None
            plan = schemas.plan(q.schema, qschema, evolve=True, name=qname)
            qdt = storage.write(
                qname,
                schemas.align(q, plan.target),
                mode="append",
                keys=[key],
                schema_mode="merge" if plan.evolves else None,
                configuration=TABLE_CONFIG,
                metadata={META_PRINCIPAL: principal, META_OPERATION: "quarantine"},
                table=qdt,
            )
    meta = {
        META_PRINCIPAL: principal,
        META_OPERATION: f"refresh:{c.mode}",
        META_SOURCES: json.dumps(c.versions, sort_keys=True),
        META_DEFINITION: definition_hash(d),
    }
    try:
        new = _write_target(storage, d, c, meta, key)
    except Conflict:
        # A concurrent refresh may have committed this very work (same key): fine.
        new = storage.open(d.name)
        if not storage.applied(new, key):
            raise
    return new, qdt


def _write_target(
    storage: LakeStorage, d: TableDefinition, c: Computed, meta: dict[str, str], key: str
) -> DeltaTable:
    """Overwrite, merge or append the computed rows, idempotently by ``key``."""
    target = c.target if c.target is not None else storage.open(d.name)
    if storage.applied(target, key):
        return target
    plan = schemas.plan(c.data.schema, arrow_schema(target), evolve=d.schema_evolution, name=d.name)
    data = schemas.align(c.data, plan.target)
    schema_mode: Literal["merge"] | None = "merge" if plan.evolves else None
    if c.mode == "full":
        return storage.write(
            d.name,
            data,
            mode="overwrite",
            metadata=meta,
            keys=[key],
            schema_mode=schema_mode,
            table=target,
        )
    if d.primary_key or d.dedupe_on:
        return _merge(target, d, data, meta, plan.evolves, key)
    return storage.write(
        d.name,
        data,
        mode="append",
        metadata=meta,
        keys=[key],
        schema_mode=schema_mode,
        table=target,
    )


def _merge(
    dt: DeltaTable,
    d: TableDefinition,
    data: pa.Table,
    meta: dict[str, str],
    evolves: bool,
    key: str,
) -> DeltaTable:
    keys = d.primary_key or d.dedupe_on or []
    cond = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in keys)
    if len(keys) == 1 and data.num_rows:
        # Bounds on the key let Delta skip files whose key range cannot match.
        col = data.column(keys[0])
        if pa.types.is_integer(col.type):
            lo, hi = pc.min_max(col).values()
            if lo.is_valid:
                cond += f" AND t.{quote(keys[0])} BETWEEN {lo.as_py()} AND {hi.as_py()}"
    merger = dt.merge(
        data,
        cond,
        source_alias="s",
        target_alias="t",
        merge_schema=evolves,
        commit_properties=CommitProperties(
            custom_metadata=meta,
            max_commit_retries=20,
            app_transactions=[Transaction(TXN_PREFIX + key, 1)],
        ),
    )
    if d.primary_key:
        merger = merger.when_matched_update_all()
    try:
        merger.when_not_matched_insert_all().execute()
    except DeltaError as exc:
        raise Conflict(f"merge into '{d.name}' failed: {exc}", table=d.name) from None
    return dt
