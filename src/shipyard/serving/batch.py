"""Batch scoring: a model version over a lake table, chunk by chunk, into a Delta table.

Memory holds one chunk (input and predictions) at a time. Each chunk is one
Delta append with an idempotency key derived from the job (model version, input
table and version, output, columns) and the chunk's position, so rerunning the
same job, or resuming one that crashed, writes nothing twice.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from shipyard._internal.service import ServiceContext
from shipyard.errors import InvalidArgument


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


def score_table(
    ctx: ServiceContext,
    model: str,
    source: str,
    output: str,
    *,
    version: int | None = None,
    keep_columns: list[str] | None = None,
    chunk_rows: int = 250_000,
) -> BatchScoreResult:
    """See ``ServingService.score_table``."""
    from shipyard.lake.service import LakeService
    from shipyard.registry.service import RegistryService

    if chunk_rows < 1:
        raise InvalidArgument("chunk_rows must be positive", chunk_rows=chunk_rows)
    started = time.perf_counter()
    registry = RegistryService(ctx)
    uri = model if model.startswith("models:/") else f"models:/{model}"
    mv = registry.resolve(uri)
    loaded = registry.load_model(f"models:/{mv.name}/{mv.version}")
    lake = LakeService(ctx)
    lake.get_table(source)  # NotFound / PermissionDenied
    snapshot = lake.storage.open(source, version=version)
    source_version = int(snapshot.version())
    dataset = snapshot.to_pyarrow_dataset()
    inputs = list(getattr(loaded, "input_columns", None) or [])
    missing = [c for c in inputs if c not in dataset.schema.names]
    if missing:
        raise InvalidArgument(
            f"table {source} lacks the model's input columns {missing}", columns=missing
        )
    keep = (
        keep_columns
        if keep_columns is not None
        else [c for c in dataset.schema.names if not c.startswith("_")]
    )
    unknown = [c for c in keep if c not in dataset.schema.names]
    if unknown:
        raise InvalidArgument(f"table {source} has no columns {unknown}", columns=unknown)
    read = list(dict.fromkeys([*keep, *inputs])) if inputs else dataset.schema.names
    job = hashlib.sha256(
        f"{mv.name}/{mv.version}|{source}@{source_version}|{output}|{keep}".encode()
    ).hexdigest()[:16]
    written = skipped = rows = 0
    out_version = lake.get_table(output).version if lake.storage.exists(output) else None
    refs = [f"table:{source}@{source_version}", f"model:{mv.name}@{mv.version}"]
    for i, chunk in enumerate(_chunks(dataset.to_batches(columns=read), chunk_rows)):
        frame = chunk.select(inputs).to_pandas() if inputs else chunk.to_pandas()
        preds = np.asarray(loaded.predict(frame))
        scored = chunk.select(keep).append_column(
            "prediction", pa.array(preds.tolist() if preds.ndim > 1 else preds)
        )
        scored = scored.append_column(
            "model_version", pa.array(np.full(len(preds), mv.version, dtype=np.int64))
        )
        info = lake.write(
            output,
            scored,
            mode="append",
            batch_id=f"score-{job}-{i}",
            source="serving.batch",
            sources=refs,
            operation="batch_score",
        )
        rows += chunk.num_rows
        if info.version == out_version:  # this chunk of this job was already written
            skipped += 1
        else:
            written += 1
        out_version = info.version
    return BatchScoreResult(
        output=output,
        output_version=out_version,
        rows=rows,
        chunks_written=written,
        chunks_skipped=skipped,
        model_version=f"{mv.name}/{mv.version}",
        source=source,
        source_version=source_version,
        seconds=time.perf_counter() - started,
    )
