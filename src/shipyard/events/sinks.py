"""Consumers that move a topic's records into the lake (bronze micro-batches) or the
feature store (a ``PushSource``), through those capabilities' own entry points.

Both commit a batch's offset only after the target has it (at least once). A batch
redelivered after a crash has the same offset range (the bus keeps the pending
range), hence the same idempotency key: the lake skips a bronze batch it already
holds; a feature push is re-applied, which online is a no-op (an older or equal
timestamp never overwrites) and offline appends the rows again unless the push
source's table is a bronze table (whose writes are keyed by content).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from shipyard.events.models import Batch


class SinkResult(BaseModel):
    """What one sink run did."""

    topic: str
    group: str
    target: str
    batches: int = 0
    records: int = 0
    #: Batches the target already held (a redelivery): nothing written again.
    skipped_batches: int = 0
    committed_offset: int = 0
    seconds: float = 0.0


def drain(
    events: Any,
    topic: str,
    group: str,
    target: str,
    apply: Callable[[Batch], bool],
    *,
    max_records: int,
    max_batches: int | None,
    follow: bool,
    idle_timeout: float | None,
) -> SinkResult:
    """Run ``apply`` (returns "skipped") on each batch, committing after it returns."""
    result = SinkResult(topic=topic, group=group, target=target)
    started = time.perf_counter()
    for batch in events.consume(
        topic,
        group,
        max_records=max_records,
        follow=follow,
        idle_timeout=idle_timeout,
        poll_interval=0.2,
    ):
        skipped = apply(batch)
        result.batches += 1
        result.records += len(batch)
        result.skipped_batches += int(skipped)
        if max_batches is not None and result.batches >= max_batches:
            events.commit(batch)  # leaving the loop skips consume()'s own commit
            break
    result.committed_offset = events.bus.position(topic, group).offset
    result.seconds = time.perf_counter() - started
    return result


def lake_writer(lake: Any, topic: str, table: str, group: str) -> Callable[[Batch], bool]:
    """Append a batch to ``table`` keyed by group + offset range; True if already there."""

    def apply(batch: Batch) -> bool:
        before = lake.get_table(table).version if lake.storage.exists(table) else None
        info = lake.write(
            table,
            batch.values,
            mode="append",
            batch_id=f"events-{group}-{batch.batch_id}",
            source=f"topic:{topic}",
            sources=[f"topic:{topic}"],
            operation="ingest_stream",
        )
        return bool(info.version == before)

    return apply


def feature_pusher(features: Any, push_source: str, to: str) -> Callable[[Batch], bool]:
    """Apply a batch to ``push_source`` through ``FeatureService.push``."""

    def apply(batch: Batch) -> bool:
        features.push(push_source, batch.values, to=to)
        return False

    return apply
