"""The scheduler: cron ticks, table-commit and topic triggers start pipeline runs.

Each pass (``Scheduler.tick``), per pipeline that is not paused:

- **cron**: the ticks since the pipeline's cursor, in its time zone; which of them
  start runs is the catch-up policy (``skip``: only a tick that is on time;
  ``run-once``: the latest; ``all``: every one, at most ``MAX_CATCHUP``).
- **tables**: a table whose version grew since the cursor starts one run.
- **topics**: a topic whose end offset grew since the cursor starts one run; with a
  filter (``where``), only when one of the new records matches: the records are read
  as the pipeline's principal may read them, at most ``MAX_SCAN`` per pass (the cursor
  moves past what was read, to the end once a record matched).

A tick is fired in one transaction that inserts its key into ``pipeline_ticks``
(unique per pipeline), creates the run and moves the cursor: two schedulers racing
on one tick create one run, and a scheduler killed mid-tick leaves either all of
it or none (the next pass fires it). A scheduler that was down finds the ticks it
missed behind its cursor and catches up by policy.

Each pass also advances runs whose step jobs ended without the worker advancing
them (a lease that expired into the dead letter, a worker killed in between), and
queues the jobs of its ``periodic`` sources (the canary checks, ADR 0024): each spec's
idempotency key names its period (``<what>@<period>``), so racing schedulers queue it
once, and it is skipped while a job of the same ``<what>`` still waits or runs.

Each pass starts by publishing lifecycle events left unsent in the event outbox (a bus
outside the metadata DB, ADR 0033): at start-up, what a crash between a change's commit
and its publish left behind; later, what a broker outage held back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shipyard._internal import cron
from shipyard._internal.clock import utcnow
from shipyard.pipelines.definitions import KIND, Catchup, PipelineSpec
from shipyard.pipelines.models import JobSpec, JobState
from shipyard.pipelines.tables import jobs, pipeline_cursors, pipeline_ticks
from shipyard.pipelines.triggers import MAX_SCAN, SCAN_PAGE, Where, by_topic, matches

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.events.models import Record
    from shipyard.pipelines.backends.base import JobQueue
    from shipyard.pipelines.runs import RunEngine

log = logging.getLogger(__name__)
#: A tick later than this is "missed" (``skip`` drops it).
ON_TIME = timedelta(seconds=60)
#: Jobs a scheduler queues each pass besides runs: ``now -> specs`` (each with a team and
#: an idempotency key ``<what>@<period>``).
Periodic = Callable[[datetime], Sequence[JobSpec]]
#: Who queued them (the jobs' ``created_by``).
SCHEDULER = "scheduler"
#: ``(principal, topic, offset, limit) -> records`` as that principal may read them
#: (None: it may not).
TopicRecords = Callable[[str, str, int, int], "Sequence[Record] | None"]


class Scheduler:
    """One scheduler over a project (run as many as you like: ticks fire once).

    Built by ``PipelineService.scheduler()``: ``topic_offset`` answers a topic's end
    offset (None when it cannot be read), ``topic_records`` reads a filtered trigger's
    records as the pipeline's principal, ``engine`` starts and advances the runs.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        engine: RunEngine,
        topic_offset: Callable[[str], int | None],
        topic_records: TopicRecords | None = None,
        interval: float = 1.0,
        queue: Callable[[], JobQueue] | None = None,
        periodic: Sequence[Periodic] = (),
        relay: Callable[[], object] | None = None,
    ) -> None:
        self._ctx = ctx
        self._relay = relay
        self._queue = queue
        self._periodic = tuple(periodic) if queue is not None else ()
        self.engine = engine
        self._topic_offset = topic_offset
        self._topic_records = topic_records
        self.interval = interval
        self.stopping = threading.Event()
        self._reconciled: datetime | None = None

    def stop(self, *_: Any) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Loop until ``stop`` (SIGTERM in ``shipyard scheduler``)."""
        while not self.stopping.is_set():
            try:
                started = self.tick()
                if started:
                    log.info("scheduler started %d run(s)", len(started))
            except Exception as exc:  # the database is away: try again next pass
                log.warning("scheduler pass failed: %s", exc)
            self.stopping.wait(self.interval)

    def tick(self, now: datetime | None = None) -> list[str]:
        """One pass; returns the ids of the runs it started."""
        now = now or utcnow()
        started: list[str] = []
        if self._relay is not None:  # first, so a start-up publishes what a crash left
            try:
                self._relay()
            except Exception as exc:
                log.warning("event outbox relay failed: %s", exc)
        with self._ctx.db.connect() as conn:
            found = self._ctx.catalog.search(conn, kind=KIND, limit=100_000)
        for asset in found:
            if asset.properties.get("paused"):
                continue
            spec = PipelineSpec.model_validate(asset.properties["spec"])
            try:
                started += self._pipeline(asset, spec, now)
            except Exception as exc:
                log.warning("pipeline %s: scheduling failed: %s", spec.name, exc)
        self.reconcile(now)
        self.queue_periodic(now)
        return started

    def _pipeline(self, asset: Any, spec: PipelineSpec, now: datetime) -> list[str]:
        out: list[str] = []
        if spec.schedule is not None:
            out += self._cron(asset, spec, now)
        for table in spec.triggers.tables:
            out += self._watch(asset, spec, f"table:{table}", self._table_version(table))
        for topic, wheres in by_topic(spec.triggers.topics).items():
            if wheres is None:  # any record
                out += self._watch(asset, spec, f"topic:{topic}", self._topic_offset(topic))
            else:
                out += self._filtered(asset, spec, topic, wheres)
        return out

    # -- sources -------------------------------------------------------------------

    def _cursor(self, pipeline: str, source: str) -> str | None:
        q = sa.select(pipeline_cursors.c.position).where(
            pipeline_cursors.c.pipeline == pipeline, pipeline_cursors.c.source == source
        )
        with self._ctx.db.connect() as conn:
            row = conn.execute(q).first()
        return None if row is None else row.position

    def _cron(self, asset: Any, spec: PipelineSpec, now: datetime) -> list[str]:
        sched = spec.schedule
        assert sched is not None
        cursor = self._cursor(spec.name, "cron")
        if cursor is None:  # first sight: ticks from now on, none from before the apply
            self._fire(asset, spec, "cron", now.isoformat(), [])
            return []
        due = cron.ticks(sched.cron, sched.timezone, datetime.fromisoformat(cursor), now)
        if not due:
            return []
        if sched.catchup == Catchup.SKIP:
            fire = [due[-1]] if now - due[-1] <= ON_TIME else []
        elif sched.catchup == Catchup.RUN_ONCE:
            fire = [due[-1]]
        else:
            fire = due
        zone = cron.zone(sched.timezone)
        ticks = [
            (f"cron:{t.isoformat()}", _partition(spec, t.astimezone(zone).date())) for t in fire
        ]
        return self._fire(asset, spec, "cron", due[-1].isoformat(), ticks, trigger="schedule")

    def _table_version(self, table: str) -> int | None:
        from shipyard.lake.records import KIND as TABLE_KIND

        with self._ctx.db.connect() as conn:
            found = self._ctx.catalog.find(conn, TABLE_KIND, table)
        return None if found is None else found.version

    def _watch(
        self, asset: Any, spec: PipelineSpec, source: str, position: int | None
    ) -> list[str]:
        if position is None:
            return []
        cursor = self._cursor(spec.name, source)
        if cursor is None:
            self._fire(asset, spec, source, str(position), [])
            return []
        if position <= int(cursor):
            return []
        trigger = source.split(":", 1)[0]
        part = _partition(spec, utcnow().date())
        return self._fire(
            asset, spec, source, str(position), [(f"{source}@{position}", part)], trigger=trigger
        )

    def _filtered(
        self, asset: Any, spec: PipelineSpec, topic: str, wheres: list[Where]
    ) -> list[str]:
        """One run when a record since the cursor matches one of ``wheres``.

        Reads at most ``MAX_SCAN`` records; the cursor moves past them, or to the end
        once one matched (the run starts after every record up to the end, as a plain
        trigger's does). The cursor moves only if it still is where this pass read it,
        so a scheduler that read it before another moved it fires nothing.
        """
        source = f"topic:{topic}"
        end = self._topic_offset(topic)
        if end is None or self._topic_records is None:
            return []
        cursor = self._cursor(spec.name, source)
        if cursor is None:
            self._fire(asset, spec, source, str(end), [])
            return []
        start = int(cursor)
        if end <= start:
            return []
        stop = min(end, start + MAX_SCAN)
        hit = self._scan(_principal(asset), topic, start, stop, wheres)
        if hit is None:  # the pipeline's principal may not read it (any more)
            log.debug("pipeline %s: may not read topic %s", spec.name, topic)
            return []
        position = end if hit else stop
        ticks = [(f"{source}@{position}", _partition(spec, utcnow().date()))] if hit else []
        return self._fire(asset, spec, source, str(position), ticks, trigger="topic", expect=cursor)

    def _scan(
        self, principal: str, topic: str, start: int, stop: int, wheres: list[Where]
    ) -> bool | None:
        """Whether a record in [start, stop) matches one of ``wheres``, read a page at a
        time up to the first match; None when ``principal`` may not read the topic."""
        assert self._topic_records is not None
        offset = start
        while offset < stop:
            records = self._topic_records(principal, topic, offset, min(SCAN_PAGE, stop - offset))
            if records is None:
                return None
            if not records:
                return False
            for r in records:
                if r.offset >= stop:
                    return False
                if any(matches(w, r.value) for w in wheres):
                    return True
            offset = records[-1].offset + 1
        return False

    # -- firing --------------------------------------------------------------------

    def _fire(
        self,
        asset: Any,
        spec: PipelineSpec,
        source: str,
        position: str,
        ticks: list[tuple[str, str | None]],
        *,
        trigger: str = "schedule",
        expect: str | None = None,
    ) -> list[str]:
        """Claim the ticks, start their runs and move the cursor, in one transaction.

        ``expect``: move the cursor only from this position, else (another scheduler
        moved it since it was read) do nothing.
        """
        principal = _principal(asset)
        started: list[str] = []
        with self._ctx.db.begin() as conn:
            if expect is not None and not self._advance(conn, spec.name, source, expect, position):
                return []
            for key, partition in ticks:
                if not self._claim(conn, spec.name, key):
                    continue  # another scheduler fired it
                (run_id,) = self.engine.create(
                    conn,
                    spec,
                    version=asset.version,
                    team=asset.owner,
                    principal=principal,
                    trigger=trigger,
                    partitions=[partition],
                    trigger_keys=[key],
                )
                conn.execute(
                    pipeline_ticks.update()
                    .where(pipeline_ticks.c.pipeline == spec.name, pipeline_ticks.c.tick_key == key)
                    .values(run_id=run_id)
                )
                self._ctx.audit.write(
                    conn,
                    principal=principal,
                    action="pipelines.run",
                    outcome="ok",
                    asset=f"{KIND}:{spec.name}",
                    team=asset.owner,
                    details={"run": run_id, "trigger": trigger, "tick": key},
                )
                started.append(run_id)
            if expect is None:
                self._move(conn, spec.name, source, position)
        return started

    def _dialect(self) -> Any:
        return postgresql if self._ctx.db.dialect == "postgresql" else sqlite

    def _claim(self, conn: Connection, pipeline: str, key: str) -> bool:
        stmt = (
            self._dialect()
            .insert(pipeline_ticks)
            .values(pipeline=pipeline, tick_key=key, run_id=None, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["pipeline", "tick_key"])
            .returning(pipeline_ticks.c.tick_key)
        )
        # RETURNING, not rowcount: the PostgreSQL driver answers -1 for this statement
        return conn.execute(stmt).first() is not None

    def _move(self, conn: Connection, pipeline: str, source: str, position: str) -> None:
        ins = (
            self._dialect()
            .insert(pipeline_cursors)
            .values(pipeline=pipeline, source=source, position=position, updated_at=utcnow())
        )
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["pipeline", "source"],
                set_={"position": ins.excluded.position, "updated_at": ins.excluded.updated_at},
            )
        )

    def _advance(self, conn: Connection, pipeline: str, source: str, old: str, new: str) -> bool:
        c = pipeline_cursors.c
        stmt = (
            pipeline_cursors.update()
            .where(c.pipeline == pipeline, c.source == source, c.position == old)
            .values(position=new, updated_at=utcnow())
            .returning(c.position)
        )
        return conn.execute(stmt).first() is not None

    # -- periodic jobs ---------------------------------------------------------------

    def queue_periodic(self, now: datetime | None = None) -> list[str]:
        """Queue the periodic sources' jobs due now; returns the ids of those queued."""
        now = now or utcnow()
        queued: list[str] = []
        for source in self._periodic:
            try:
                specs = list(source(now))
            except Exception as exc:
                log.warning("periodic jobs: %s", exc)
                continue
            for spec in specs:
                if spec.idempotency_key is None or spec.team is None or self._pending(spec):
                    continue
                assert self._queue is not None
                job = self._queue().enqueue_many([spec], team=spec.team, created_by=SCHEDULER)[0]
                if job.created_by == SCHEDULER and job.state == JobState.QUEUED:
                    queued.append(job.id)
        return queued

    def _pending(self, spec: JobSpec) -> bool:
        """A job of the same ``<what>`` (the key before ``@``) still waits or runs."""
        assert spec.idempotency_key is not None
        what = spec.idempotency_key.rpartition("@")[0] or spec.idempotency_key
        q = (
            sa.select(jobs.c.id)
            .where(
                jobs.c.team == spec.team,
                jobs.c.idempotency_key.startswith(f"{what}@", autoescape=True),
                jobs.c.state.in_([JobState.QUEUED.value, JobState.RUNNING.value]),
            )
            .limit(1)
        )
        with self._ctx.db.connect() as conn:
            return conn.execute(q).first() is not None

    # -- reconciling ---------------------------------------------------------------

    def reconcile(self, now: datetime | None = None) -> int:
        """Advance runs whose step jobs ended since the last pass (with a margin)."""
        now = now or utcnow()
        since = (self._reconciled or now - timedelta(hours=1)) - timedelta(seconds=30)
        self._reconciled = now
        ids = self.engine.finished_since(since)
        for run_id in ids:
            try:
                self.engine.advance(run_id)
            except Exception as exc:
                log.warning("pipeline run %s: cannot advance: %s", run_id, exc)
        return len(ids)


def _principal(asset: Any) -> str:
    """Who a pipeline's scheduled runs act for: who applied it."""
    return str(asset.properties.get("applied_by") or asset.created_by)


def _partition(spec: PipelineSpec, day: Any) -> str | None:
    """A daily pipeline's scheduled run is for the day before the tick (the day that ended)."""
    if spec.partitioned != "daily":
        return None
    return (day - timedelta(days=1)).isoformat()


def run_scheduler(sched: Scheduler) -> Scheduler:
    """Run ``sched`` on a daemon thread (inside a worker or a server process)."""
    threading.Thread(target=sched.run, name="pipeline-scheduler", daemon=True).start()
    return sched
