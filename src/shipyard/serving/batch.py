"""Batch scoring: a model version over a lake table, chunk by chunk, into a Delta table.

Memory holds one chunk (input and predictions) at a time. Each chunk is one
Delta append with an idempotency key derived from the job (model version, input
table and version, output, columns) and the chunk's position, so rerunning the
same job, or resuming one that crashed, writes nothing twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from shipyard._internal import progress
from shipyard.catalog.context import ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.serving.ops import MAX_CHUNK_ROWS

if TYPE_CHECKING:
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.worker import WorkerPool


class BatchScoreResult(BaseModel):
    output: str
    output_version: int | None
    rows: int
    chunks_written: int
    chunks_skipped: int
    model_version: str
    source: str
    source_version: int
    seconds: float


def _chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches into tables of exactly ``rows`` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - size, batch.num_rows)
            pending.append(batch.slice(0, take))
            size += take
            batch = batch.slice(take)
            if size == rows:
                yield pa.Table.from_batches(pending)
                pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending)


def _columns(
    names: list[str], inputs: list[str], keep_columns: list[str] | None, source: str
) -> tuple[list[str], list[str]]:
    """``(kept, read)``: the input columns copied to the output, and all columns read."""
    missing = [c for c in inputs if c not in names]
    if missing:
        raise InvalidArgument(
            f"table {source} lacks the model's input columns {missing}", columns=missing
        )
    keep = keep_columns if keep_columns is not None else [c for c in names if not c.startswith("_")]
    unknown = [c for c in keep if c not in names]
    if unknown:
        raise InvalidArgument(f"table {source} has no columns {unknown}", columns=unknown)
    return keep, (list(dict.fromkeys([*keep, *inputs])) if inputs else names)


def _scored(
    chunk: pa.Table, loaded: Any, inputs: list[str], keep: list[str], version: int
) -> pa.Table:
    frame = chunk.select(inputs).to_pandas() if inputs else chunk.to_pandas()
    preds = np.asarray(loaded.predict(frame))
    out = chunk.select(keep).append_column(
        "prediction", pa.array(preds.tolist() if preds.ndim > 1 else preds)
    )
    return out.append_column(
        "model_version", pa.array(np.full(len(preds), version, dtype=np.int64))
    )


def _pipeline(
    chunks: Iterator[pa.Table],
    score: Callable[[pa.Table], pa.Table],
    write: Callable[[int, pa.Table], int],
) -> tuple[int, list[int]]:
    """Score chunk i+1 while chunk i is written (Delta writes run in Rust, off the GIL);
    at most two chunks are in memory. Returns rows and each write's table version."""
    rows, versions = 0, []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-batch-write") as pool:
        pending: Future[int] | None = None
        for i, chunk in enumerate(chunks):
            scored = score(chunk)
            rows += chunk.num_rows
            progress.report(rows)
            if pending is not None:
                versions.append(pending.result())
            pending = pool.submit(write, i, scored)
        if pending is not None:
            versions.append(pending.result())
    return rows, versions


def score_table(
    ctx: ServiceContext,
    registry: RegistryService,
    lake: LakeService,
    workers: WorkerPool,
    model: str,
    source: str,
    output: str,
    *,
    version: int | None = None,
    keep_columns: list[str] | None = None,
    chunk_rows: int = 250_000,
) -> BatchScoreResult:
    """See ``ServingService.score_table``."""
    if not 1 <= chunk_rows <= MAX_CHUNK_ROWS:
        raise InvalidArgument(
            f"chunk_rows must be between 1 and {MAX_CHUNK_ROWS:,}", chunk_rows=chunk_rows
        )
    started = time.perf_counter()
    mv = registry.resolve(model if model.startswith("models:/") else f"models:/{model}")
    uri = f"models:/{mv.name}/{mv.version}"
    loaded = workers.model(registry.download_model(uri), uri)  # never in this process
    lake.get_table(source)  # NotFound / PermissionDenied
    snapshot = lake.storage.open(source, version=version)
    source_version = int(snapshot.version())
    dataset = snapshot.to_pyarrow_dataset()
    inputs = list(getattr(loaded, "input_columns", None) or [])
    keep, read = _columns(list(dataset.schema.names), inputs, keep_columns, source)
    job = hashlib.sha256(
        f"{mv.name}/{mv.version}|{source}@{source_version}|{output}|{keep}".encode()
    ).hexdigest()[:16]
    before = lake.get_table(output).version if lake.storage.exists(output) else None
    refs = [f"table:{source}@{source_version}", f"model:{mv.name}@{mv.version}"]

    def write(i: int, scored: pa.Table) -> int:
        info = lake.write(
            output,
            scored,
            mode="append",
            batch_id=f"score-{job}-{i}",
            source="serving.batch",
            sources=refs,
            operation="batch_score",
        )
        return int(info.version)

    rows, versions = _pipeline(
        # no read-ahead across files: memory stays one chunk (plus one being written)
        _chunks(
            dataset.to_batches(columns=read, batch_readahead=1, fragment_readahead=1), chunk_rows
        ),
        lambda chunk: _scored(chunk, loaded, inputs, keep, mv.version),
        write,
    )
    # a write that leaves the version unchanged was this job's chunk, already there
    written = sum(1 for prev, v in zip([before, *versions], versions, strict=False) if v != prev)
    return BatchScoreResult(
        output=output,
        output_version=versions[-1] if versions else before,
        rows=rows,
        chunks_written=written,
        chunks_skipped=len(versions) - written,
        model_version=f"{mv.name}/{mv.version}",
        source=source,
        source_version=source_version,
        seconds=time.perf_counter() - started,
    )
