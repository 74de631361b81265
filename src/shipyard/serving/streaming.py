"""Streaming inference: consume a topic, predict with a deployment, write the scores.

Each micro-batch of the consumer group goes through the deployment's predict path
(online features, sticky A/B split per entity, prediction log), then to a lake
table (``LakeService.write`` with an idempotency key made of the group, topic and
offset range) or to another topic (``publish`` with the same key). The offset is
committed only after the output is written: at least once. A consumer that dies
between the write and the commit is handed the *same* offset range again (the
bus remembers the pending range), so the retried write carries the same key and
is skipped: no duplicate outputs on restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shipyard.catalog.context import ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.events.models import Batch
from shipyard.serving.inputs import check_rows, entity_key_text
from shipyard.serving.routing import bucket

if TYPE_CHECKING:
    from shipyard.events.service import EventService
    from shipyard.lake.service import LakeService
    from shipyard.serving.service import ServingService

#: Columns added to every output row.
OUTPUT_COLUMNS = ("prediction", "model_version", "variant", "_topic", "_offset")


class StreamResult(BaseModel):
    """What one ``run_stream`` call did."""

    deployment: str
    topic: str
    group: str
    output: str
    batches: int = 0
    records: int = 0
    #: Batches whose output was already there (a redelivery after a crash): not written again.
    skipped_batches: int = 0
    #: Records refused (missing key, wrong type, reserved field) sent to the dead-letter topic.
    dead_lettered: int = 0
    #: The group's committed offset when the run ended.
    committed_offset: int = 0
    seconds: float = 0.0


def _scored_rows(serving: Any, deployment: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predictions for ``rows`` in order; rows are split by their sticky A/B variant."""
    active = serving.runtime.get(deployment)
    keys = active.entity_keys
    groups: dict[int, list[int]] = {}
    if len(active.live) > 1 and keys:
        for i, row in enumerate(rows):
            text = entity_key_text(row, keys) if all(k in row for k in keys) else ""
            groups.setdefault(active.table.pick(bucket(text, deployment)), []).append(i)
    else:
        groups[0] = list(range(len(rows)))
    out: list[dict[str, Any]] = [{} for _ in rows]
    for idx in groups.values():
        part = [rows[i] for i in idx]
        key = entity_key_text(part[0], keys) if keys and all(k in part[0] for k in keys) else None
        resp = serving.predict(deployment, part, routing_key=key)
        for i, pred in zip(idx, resp.predictions, strict=True):
            out[i] = {
                "prediction": pred,
                "model_version": resp.model_version,
                "variant": resp.variant,
            }
    return out


def _output_rows(batch: Batch, scored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**rec.value, **s, "_topic": batch.topic, "_offset": rec.offset}
        for rec, s in zip(batch.records, scored, strict=True)
    ]


def _model_refs(scored: list[dict[str, Any]]) -> list[str]:
    """``model:churn@3`` for each model version that scored the batch."""
    refs = []
    for mv in sorted({s["model_version"] for s in scored}):
        name, _, version = str(mv).rpartition("/")
        refs.append(f"model:{name}@{version}" if name else f"model:{mv}")
    return refs


def run_stream(
    ctx: ServiceContext,
    serving: ServingService,
    events: EventService,
    lake: LakeService,
    deployment: str,
    topic: str,
    *,
    group: str | None = None,
    output_table: str | None = None,
    output_topic: str | None = None,
    dead_letter_topic: str | None = None,
    max_records: int = 500,
    max_batches: int | None = None,
    follow: bool = False,
    idle_timeout: float | None = None,
    after_write: Callable[[Batch], None] | None = None,
) -> StreamResult:
    """See ``ServingService.run_stream``."""
    if (output_table is None) == (output_topic is None):
        raise InvalidArgument("give exactly one of output_table and output_topic")
    serving.get_deployment(deployment)  # NotFound before consuming anything
    group = group or f"stream.{deployment}"
    output = f"table:{output_table}" if output_table else f"topic:{output_topic}"
    result = StreamResult(deployment=deployment, topic=topic, group=group, output=output)
    sink = _Sink(ctx, lake, events, topic, output_table, output_topic)
    started = time.perf_counter()
    for batch in events.consume(
        topic,
        group,
        max_records=max_records,
        follow=follow,
        idle_timeout=idle_timeout,
        poll_interval=0.2,
    ):
        key = f"stream-{group}-{batch.batch_id}"
        good, bad = _split(serving, deployment, batch, dead_letter_topic is not None)
        if bad:
            assert dead_letter_topic is not None
            events.publish(dead_letter_topic, bad, key=f"dead-{key}")
            result.dead_lettered += len(bad)
        skipped = False
        if good.records:
            scored = _scored_rows(serving, deployment, good.values)
            skipped = sink.write(_output_rows(good, scored), _model_refs(scored), key)
        if after_write is not None:
            after_write(batch)  # a test's crash point: written, not yet committed
        result.batches += 1
        result.records += len(batch)
        result.skipped_batches += int(skipped)
        if max_batches is not None and result.batches >= max_batches:
            events.commit(batch)  # the loop is left before consume() would commit it
            break
    result.committed_offset = events.bus.position(topic, group).offset
    result.seconds = time.perf_counter() - started
    return result


def _split(
    serving: Any, deployment: str, batch: Batch, dead_letters: bool
) -> tuple[Batch, list[dict[str, Any]]]:
    """``(records to score, dead letters)``; without a dead-letter topic a bad record raises."""
    active = serving.runtime.get(deployment)
    good, bad = [], []
    for rec in batch.records:
        try:
            check_rows([rec.value], active.entity_keys, active.request_fields)
            clash = [c for c in OUTPUT_COLUMNS if c in rec.value]
            if clash:
                raise InvalidArgument(
                    f"record at offset {rec.offset} of {batch.topic} has reserved fields {clash}",
                    offset=rec.offset,
                )
        except InvalidArgument as exc:
            if not dead_letters:
                raise InvalidArgument(
                    f"record at offset {rec.offset} of {batch.topic}: "
                    f"{exc.message.removeprefix('inputs[0]: ').removeprefix('inputs[0].')}",
                    offset=rec.offset,
                ) from None
            bad.append(
                {"topic": rec.topic, "offset": rec.offset, "value": rec.value, "error": exc.message}
            )
            continue
        good.append(rec)
    return batch.model_copy(update={"records": good}), bad


class _Sink:
    """Where scored rows go: a lake table or a topic, keyed for idempotency."""

    def __init__(
        self,
        ctx: ServiceContext,
        lake: LakeService,
        events: EventService,
        topic: str,
        table: str | None,
        out_topic: str | None,
    ) -> None:
        self._ctx, self._topic, self._table, self._out_topic = ctx, topic, table, out_topic
        self._lake, self._events = lake, events
        self._linked: set[str] = set()

    def write(self, rows: list[dict[str, Any]], models: list[str], key: str) -> bool:
        """Write ``rows``; True if this key was already written (nothing written again)."""
        lake, table = self._lake, self._table
        if table is not None:
            before = lake.get_table(table).version if lake.storage.exists(table) else None
            info = lake.write(
                table,
                rows,
                mode="append",
                batch_id=key,
                source=f"topic:{self._topic}",
                sources=[f"topic:{self._topic}", *models],
                operation="stream_score",
            )
            return bool(info.version == before)
        assert self._out_topic is not None
        skipped = self._events.publish(self._out_topic, rows, key=key).skipped
        refs = [r for r in models if r not in self._linked]
        if refs:
            _topic_lineage(self._ctx, self._topic, self._out_topic, refs)
            self._linked.update(refs)
        return skipped


def _topic_lineage(ctx: ServiceContext, source: str, target: str, refs: list[str]) -> None:
    """Edges ``topic:source`` and each model version -> ``topic:target`` (audited)."""
    from shipyard.catalog.models import AssetRef

    with ctx.db.connect() as conn:
        out = ctx.catalog.get(conn, "topic", target)
    with ctx.mutation("serving.stream_lineage", team=out.owner, asset=f"topic:{target}") as m:
        for ref in [f"topic:{source}", *refs]:
            r = AssetRef.parse(ref)
            ctx.catalog.add_edge(
                m.conn,
                ctx.catalog.get(m.conn, r.kind, r.name),
                out,
                operation="stream_score",
                created_by=ctx.principal.name,
                source_version=r.version,
            )
