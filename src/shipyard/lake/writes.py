"""Delta writes of the lake: bronze ingestion (files and pushed rows) and plain writes.

Idempotency: every bronze batch commits with a Delta application transaction
(``txn``) named after its batch id, in the same commit as its rows, so a batch
is in the table exactly once whatever fails or is retried. Quarantine records
go to ``<table>__quarantine`` afterwards, keyed the same way; a rerun that finds
the rows committed but not their quarantine re-reads the file for the bad rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from deltalake import DeltaTable

from shipyard._internal import progress
from shipyard._internal.clock import utcnow
from shipyard.errors import Conflict, InvalidArgument
from shipyard.lake import schema as schemas
from shipyard.lake.ingest import FileParser, content_hash, detect_format
from shipyard.lake.models import BRONZE_COLUMNS, quarantine_name
from shipyard.lake.spill import BadRows
from shipyard.lake.storage import (
    META_BATCH,
    META_OPERATION,
    META_PRINCIPAL,
    LakeStorage,
    arrow_schema,
)

#: Table properties of new tables. The change data feed stays off: incremental
#: refreshes only need appended rows, which deltalake reads from the add actions of
#: append commits, and writing change files would slow every MERGE down.
TABLE_CONFIG: dict[str, str | None] = {}
TS = pa.timestamp("us", tz="UTC")


@dataclass
class Outcome:
    version: int
    rows_written: int = 0
    rows_quarantined: int = 0
    batch_id: str = ""
    skipped: bool = False
    files: list[str] = field(default_factory=list)
    wrote_quarantine: bool = False


def data_schema(storage: LakeStorage, name: str) -> pa.Schema | None:
    """The table's schema without bronze bookkeeping columns (``None``: no table yet)."""
    if not storage.exists(name):
        return None
    full = arrow_schema(storage.open(name))
    return pa.schema([f for f in full if f.name not in BRONZE_COLUMNS])


def bookkeeping(tbl: pa.Table, *, at: datetime, source: str, batch_id: str) -> pa.Table:
    n = tbl.num_rows
    for col in BRONZE_COLUMNS:
        if col in tbl.column_names:
            tbl = tbl.drop_columns([col])
    # One value per batch: dictionary-encoded, so 10 M rows cost 10 MB, not 300 MB
    # (Delta stores them as plain strings).
    zeros = pa.repeat(pa.scalar(0, pa.int8()), n)
    return (
        tbl.append_column("_ingested_at", pa.repeat(pa.scalar(at, TS), n))
        .append_column("_source", pa.DictionaryArray.from_arrays(zeros, pa.array([source])))
        .append_column("_batch_id", pa.DictionaryArray.from_arrays(zeros, pa.array([batch_id])))
    )


def ingest_files(
    storage: LakeStorage,
    name: str,
    files: Sequence[Path],
    *,
    fmt: str | None,
    batch_id: str | None,
    delimiter: str,
    evolve: bool,
    principal: str,
) -> Outcome:
    """Append the rows of ``files`` to bronze table ``name`` in one commit."""
    args = (fmt, batch_id, delimiter, evolve, principal)
    try:
        return _ingest_files(storage, name, files, *args)
    except Conflict:
        # Lost a race (e.g. to create the table): the files are still there, go again.
        return _ingest_files(storage, name, files, *args)


def _ingest_files(
    storage: LakeStorage,
    name: str,
    files: Sequence[Path],
    fmt: str | None,
    batch_id: str | None,
    delimiter: str,
    evolve: bool,
    principal: str,
) -> Outcome:
    dt = storage.find(name)
    ids = [batch_id or content_hash(f) for f in files]
    combined = batch_id or (ids[0] if len(ids) == 1 else _combine(ids))
    pending = [
        (f, b)
        for f, b in zip(files, ids, strict=True)
        if dt is None or not storage.applied(dt, "batch:" + b)
    ]
    if batch_id is not None:
        pending = (
            pending[:0]
            if dt is not None and storage.applied(dt, "batch:" + batch_id)
            else [(f, batch_id) for f in files]
        )
    if not pending:
        return _recover_quarantine(storage, name, files, ids, fmt, delimiter, principal, combined)
    known = data_schema(storage, name)
    parsers = [FileParser(f, detect_format(f, fmt), known, delimiter) for f, _ in pending]
    _check_headers(parsers, known, evolve, name)
    at = utcnow()
    sink = BadRows(at)
    try:
        return _commit_files(storage, name, parsers, pending, dt, sink, combined, evolve, principal)
    finally:
        sink.close()


def _commit_files(
    storage: LakeStorage,
    name: str,
    parsers: Sequence[FileParser],
    pending: Sequence[tuple[Path, str]],
    dt: DeltaTable | None,
    sink: BadRows,
    combined: str,
    evolve: bool,
    principal: str,
) -> Outcome:
    at = sink.at
    first, rest = _peek(parsers, pending, at, sink)
    if first is None:
        raise InvalidArgument(
            f"{', '.join(str(f) for f, _ in pending)}: no rows to ingest", table=name
        )
    target = schemas.plan(first.schema, arrow_schema(dt) if dt else None, evolve=evolve, name=name)
    reader = _reader(first, rest, target.target)
    keys = sorted({"batch:" + b for _, b in pending})
    meta = {META_PRINCIPAL: principal, META_OPERATION: "ingest", META_BATCH: combined}
    written = _counting(reader)
    new = storage.write(
        name,
        written.reader,
        mode="append",
        metadata=meta,
        keys=keys,
        schema_mode="merge" if target.evolves else None,
        configuration=TABLE_CONFIG,
    )
    write_quarantine(storage, name, sink, keys=keys, principal=principal)
    return Outcome(
        version=new.version(),
        rows_written=written.rows,
        rows_quarantined=sink.count,
        batch_id=combined,
        files=[str(f) for f, _ in pending],
        wrote_quarantine=bool(sink.count),
    )


def _combine(ids: Sequence[str]) -> str:
    return hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:32]


def _check_headers(
    parsers: Sequence[FileParser], known: pa.Schema | None, evolve: bool, name: str
) -> None:
    expected = list(known.names) if known is not None else None
    for p in parsers:
        if p.fmt == "jsonl" or expected is None:
            expected = expected if expected is not None or p.fmt == "jsonl" else p.columns
            continue
        extra = [c for c in p.columns if c not in expected]
        missing = [c for c in expected if c not in p.columns]
        if (extra and not evolve) or (missing and known is None):
            raise InvalidArgument(
                f"{p.path.name}: its columns do not match table '{name}': "
                f"unexpected {extra or 'none'}, missing {missing or 'none'} "
                f"(expected {', '.join(expected)})",
                table=name,
                unexpected=extra,
                missing=missing,
            )


def _peek(
    parsers: Sequence[FileParser],
    pending: Sequence[tuple[Path, str]],
    at: datetime,
    sink: BadRows,
) -> tuple[pa.Table | None, Iterator[pa.Table]]:
    def blocks() -> Iterator[pa.Table]:
        shared: pa.Schema | None = None
        for p, (f, b) in zip(parsers, pending, strict=True):
            if shared is not None:
                p.schema = _widen_known(p.schema, shared)
            for block in p.blocks():
                shared = p.schema
                _drain(p, b, f, sink)
                yield bookkeeping(block, at=at, source=str(f), batch_id=b)
            _drain(p, b, f, sink)

    it = blocks()
    first = next(it, None)
    return first, it


def _drain(p: FileParser, batch_id: str, f: Path, sink: BadRows) -> None:
    """Move a parser's bad rows so far to the (spilling) sink."""
    sink.add(batch_id, str(f), p.bad)
    p.bad.clear()


def _widen_known(own: pa.Schema | None, shared: pa.Schema) -> pa.Schema:
    if own is None:
        return shared
    return pa.schema(list(own) + [f for f in shared if f.name not in own.names])


def _aligned(
    first: pa.Table, rest: Iterator[pa.Table], target: pa.Schema
) -> Iterator[pa.RecordBatch]:
    yield from schemas.align(first, target).to_batches()
    for t in rest:
        yield from schemas.align(t, target).to_batches()


def _reader(first: pa.Table, rest: Iterator[pa.Table], target: pa.Schema) -> pa.RecordBatchReader:
    """A stream of ``first`` then ``rest``, all aligned to ``target``."""
    schema = schemas.align(first.slice(0, 0), target).schema
    return pa.RecordBatchReader.from_batches(schema, _aligned(first, rest, target))


@dataclass
class _Counter:
    reader: pa.RecordBatchReader
    rows: int = 0


def _counting(reader: pa.RecordBatchReader) -> _Counter:
    counter = _Counter(reader)
    on_progress = progress.current()  # the writer may pull batches on another thread

    def gen() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            counter.rows += batch.num_rows
            if on_progress is not None:
                on_progress(counter.rows, None)
            yield batch

    counter.reader = pa.RecordBatchReader.from_batches(reader.schema, gen())
    return counter


def write_quarantine(
    storage: LakeStorage,
    name: str,
    bad: BadRows,
    *,
    keys: Sequence[str],
    principal: str,
) -> None:
    """Record unparseable rows (always commits, so the batch is marked done there too)."""
    storage.write(
        quarantine_name(name),
        bad.data(),
        mode="append",
        keys=keys,
        configuration=TABLE_CONFIG,
        metadata={META_PRINCIPAL: principal, META_OPERATION: "quarantine"},
    )


def _recover_quarantine(
    storage: LakeStorage,
    name: str,
    files: Sequence[Path],
    ids: Sequence[str],
    fmt: str | None,
    delimiter: str,
    principal: str,
    combined: str,
) -> Outcome:
    """All batches are in the table; make sure their quarantine records are too."""
    qname = quarantine_name(name)
    qdt = storage.find(qname)
    missing = [
        (f, b)
        for f, b in zip(files, ids, strict=True)
        if qdt is None or not storage.applied(qdt, "batch:" + b)
    ]
    known = data_schema(storage, name)
    version = storage.open(name).version()
    if not missing:
        return Outcome(version=version, batch_id=combined, skipped=True)
    bad = BadRows(utcnow())
    try:
        for f, b in missing:
            p = FileParser(f, detect_format(f, fmt), known, delimiter)
            for _ in p.blocks():
                _drain(p, b, f, bad)
            _drain(p, b, f, bad)
        keys = sorted({"batch:" + b for _, b in missing})
        write_quarantine(storage, name, bad, keys=keys, principal=principal)
    finally:
        bad.close()
    return Outcome(
        version=version,
        rows_quarantined=bad.count,
        batch_id=combined,
        skipped=True,
        wrote_quarantine=True,
    )


def to_arrow(data: Any) -> pa.Table:
    """Accept Arrow, pandas, a list of records or a dict of columns."""
    try:
        if isinstance(data, pa.Table):
            return data
        if isinstance(data, pa.RecordBatchReader):
            return data.read_all()
        if isinstance(data, pa.RecordBatch):
            return pa.Table.from_batches([data])
        if isinstance(data, list):
            return pa.Table.from_pylist(data)
        if isinstance(data, dict):
            return pa.table(data)
        if hasattr(data, "__arrow_c_stream__") or type(data).__module__.startswith("pandas"):
            import pandas as pd

            if isinstance(data, pd.DataFrame):
                return pa.Table.from_pandas(data, preserve_index=False)
            return pa.table(data)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"cannot turn the data into a table: {exc}") from None
    raise InvalidArgument(f"cannot write data of type {type(data).__name__}")


def arrow_hash(tbl: pa.Table) -> str:
    """A content hash of Arrow data, read from its buffers without copying them.

    Offsets and lengths are hashed too: two slices sharing buffers differ.
    """
    h = hashlib.sha256()
    h.update(str(tbl.schema).encode())
    for column in tbl.columns:
        for chunk in column.chunks:
            _hash_array(h, chunk)
    return h.hexdigest()[:32]


def _hash_array(h: Any, arr: pa.Array) -> None:
    h.update(f"{arr.offset}:{len(arr)}:{arr.null_count};".encode())
    for buf in arr.buffers():
        if buf is not None:
            h.update(memoryview(buf))
        else:
            h.update(b"-")


def write_table(
    storage: LakeStorage,
    name: str,
    tbl: pa.Table,
    *,
    mode: Literal["append", "overwrite"],
    batch_id: str | None,
    source: str,
    evolve: bool,
    principal: str,
) -> Outcome:
    """Write Arrow data; bronze tables get bookkeeping columns and an idempotent batch id.

    On every layer, a ``batch_id`` already committed makes the write a no-op that
    answers the version that committed it (the id is the Delta commit's app
    transaction, and ``shipyard.batch_id`` in its commit info).
    """
    if mode not in ("append", "overwrite"):
        raise InvalidArgument("mode must be 'append' or 'overwrite'", mode=mode)
    bronze = name.startswith("bronze.")
    if bronze and batch_id is None:
        batch_id = arrow_hash(tbl)
    current = storage.find(name)
    if batch_id and current is not None and storage.applied(current, "batch:" + batch_id):
        return Outcome(
            version=storage.batch_version(current, batch_id), batch_id=batch_id, skipped=True
        )
    if bronze:
        tbl = bookkeeping(tbl, at=utcnow(), source=source, batch_id=batch_id or "")
    existing = arrow_schema(current) if current is not None and mode == "append" else None
    if current is not None and mode == "overwrite" and not evolve:
        existing = arrow_schema(current)
    target = schemas.plan(tbl.schema, existing, evolve=evolve, name=name)
    data = schemas.align(tbl, target.target)
    schema_mode: Literal["merge", "overwrite"] | None = None
    if target.evolves:
        schema_mode = "merge"
    elif mode == "overwrite" and evolve:
        schema_mode = "overwrite"  # an overwrite with evolution may replace the schema
    new = storage.write(
        name,
        data,
        mode=mode,
        keys=["batch:" + batch_id] if batch_id else (),
        metadata={
            META_PRINCIPAL: principal,
            META_OPERATION: f"write:{mode}",
            **({META_BATCH: batch_id} if batch_id else {}),
        },
        schema_mode=schema_mode,
        configuration=TABLE_CONFIG,
    )
    return Outcome(version=new.version(), rows_written=data.num_rows, batch_id=batch_id or "")
