"""Job history retention: delete finished jobs and pipeline runs once they are old (ADR 0056).

What is deleted, in batches of ``BATCH`` rows per transaction (a short write lock on
SQLite, short row locks on PostgreSQL):

- a job that is not a pipeline step, has ended (succeeded, failed, dead, cancelled)
  and finished before ``before`` (``jobs.retention_days``);
- a succeeded job of a platform periodic kind (``canary``, ``slo``, ``inference_log``,
  ``jobs_prune``: the kinds of the scheduler's periodic sources) that finished before
  ``periodic_before`` (``jobs.periodic_retention_hours``); a failed one is kept as long
  as any other job;
- a pipeline run that has ended and finished before ``before``, together with its step
  jobs (in one transaction); a run with a step job still queued or running is kept;
- a ``pipeline_ticks`` row created before ``before``: a tick only prevents a second
  run while some scheduler could still compute it as due, i.e. while a cursor could
  move back behind it, which takes a pass that read the cursor before the tick fired
  (seconds). ``pipeline_cursors`` rows (one per pipeline and source) are kept.

A job's captured logs are a column of its row (``jobs.logs``, the last 64 KiB): they
go with it. Queued and running jobs are never deleted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel

from shipyard._internal.clock import utcnow
from shipyard.pipelines.models import JobState
from shipyard.pipelines.periodic import PeriodicSource, platform_wide
from shipyard.pipelines.tables import jobs, pipeline_runs, pipeline_ticks
from shipyard.security.models import ALL_TEAMS, Principal, Role

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard._internal.db import Database
    from shipyard.catalog.context import ServiceContext

KIND = "jobs_prune"
TARGET = "shipyard.step_actions:prune_jobs"
#: Rows deleted per transaction, at most.
BATCH = 1000
#: The identity the scheduled prune runs as (what ``shipyard jobs prune`` needs: admin on
#: every team); its deletions are audited under this name.
RETENTION_PRINCIPAL = Principal(
    id="retention", name="retention", kind="service", roles={ALL_TEAMS: Role.ADMIN}
)

_ENDED = [JobState.SUCCEEDED.value, JobState.FAILED.value, JobState.DEAD.value]
_ENDED.append(JobState.CANCELLED.value)
_LIVE = [JobState.QUEUED.value, JobState.RUNNING.value]
_RUN_ENDED = ["succeeded", "failed", "cancelled"]


class PruneResult(BaseModel):
    """What one prune deleted (or, with ``dry_run``, would delete)."""

    dry_run: bool
    #: Jobs that are not pipeline steps (the periodic ones included).
    jobs: int = 0
    #: Of ``jobs``: succeeded periodic jobs between ``before`` and ``periodic_before``.
    periodic_jobs: int = 0
    runs: int = 0
    step_jobs: int = 0
    ticks: int = 0
    #: Finished before this: deleted (None: ``retention_days`` is 0, kept forever).
    before: datetime | None = None
    periodic_before: datetime | None = None
    seconds: float = 0.0


def cutoffs(
    retention_days: float, periodic_hours: float, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """``(before, periodic_before)`` for the settings (None where retention is off)."""
    now = now or utcnow()
    before = now - timedelta(days=retention_days) if retention_days > 0 else None
    periodic = now - timedelta(hours=periodic_hours) if periodic_hours > 0 else None
    if before is not None and periodic is not None and periodic < before:
        periodic = None  # longer than the general retention: the general rule covers them
    return before, periodic


def prune(
    db: Database,
    *,
    before: datetime | None,
    periodic_before: datetime | None,
    periodic_kinds: Sequence[str],
    dry_run: bool = False,
    batch: int = BATCH,
) -> PruneResult:
    """Delete (or count) what is past retention, ``batch`` rows per transaction."""
    started = time.perf_counter()
    out = PruneResult(dry_run=dry_run, before=before, periodic_before=periodic_before)
    plain = jobs.c.run_id.is_(None)
    # SQLite's planner (no statistics) would read by ix_jobs_lease (state=?), every ended
    # row each batch; "+state" keeps it on ix_jobs_finished, the finished_at range.
    state = _unindexed(db, jobs.c.state)
    if periodic_before is not None and periodic_kinds:
        short = [
            plain,
            jobs.c.finished_at < periodic_before,
            state == JobState.SUCCEEDED.value,
            jobs.c.kind.in_(sorted(set(periodic_kinds))),
        ]
        if before is not None:  # older ones are the general rule's (counted once)
            short.append(jobs.c.finished_at >= before)
        out.periodic_jobs = _drain(db, jobs, [jobs.c.id], short, dry_run, batch)
    out.jobs = out.periodic_jobs
    if before is not None:
        ended = [plain, jobs.c.finished_at < before, state.in_(_ENDED)]
        out.jobs += _drain(db, jobs, [jobs.c.id], ended, dry_run, batch)
        out.runs, out.step_jobs = _drain_runs(db, before, dry_run, batch)
        ticks = [pipeline_ticks.c.created_at < before]
        key = [pipeline_ticks.c.pipeline, pipeline_ticks.c.tick_key]
        out.ticks = _drain(db, pipeline_ticks, key, ticks, dry_run, batch)
    out.seconds = round(time.perf_counter() - started, 3)
    return out


def _unindexed(db: Database, column: sa.Column[Any]) -> Any:
    """``column`` that SQLite's planner will not read by an index (``+column``)."""
    if db.dialect != "sqlite":
        return column
    return sa.literal_column(f"+{column.table.name}.{column.name}", column.type)


def _drain(
    db: Database,
    table: sa.Table,
    key: list[Any],
    where: list[Any],
    dry_run: bool,
    batch: int,
) -> int:
    """Delete the rows matching ``where``, ``batch`` per transaction; returns how many."""
    if dry_run:
        with db.connect() as conn:
            q = sa.select(sa.func.count()).select_from(table).where(*where)
            return int(conn.execute(q).scalar_one())
    total = 0
    while True:
        chosen = sa.select(*key).where(*where).limit(batch)
        by = key[0] if len(key) == 1 else sa.tuple_(*key)
        with db.begin() as conn:
            if db.dialect == "postgresql":  # a row another transaction holds waits a pass
                chosen = chosen.with_for_update(skip_locked=True)
            ids = [tuple(r) if len(r) > 1 else r[0] for r in conn.execute(chosen)]
            if ids:
                conn.execute(table.delete().where(by.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total


def _drain_runs(db: Database, before: datetime, dry_run: bool, batch: int) -> tuple[int, int]:
    """Delete ended runs that finished before ``before`` with their step jobs; a
    transaction holds at most about ``batch`` rows (runs of ten steps each: a tenth)."""
    # by primary key from ``after`` (each run read once), not by ix_pipeline_runs_state
    state = _unindexed(db, pipeline_runs.c.state)
    where = [state.in_(_RUN_ENDED), pipeline_runs.c.finished_at < before]
    runs = steps = 0
    per = max(1, batch // 10)
    after = ""  # run ids already looked at (a kept run is not looked at again)
    while True:
        q = (
            sa.select(pipeline_runs.c.id, pipeline_runs.c.steps)
            .where(*where, pipeline_runs.c.id > after)
            .order_by(pipeline_runs.c.id)
            .limit(per)
        )
        with db.connect() if dry_run else db.begin() as conn:
            rows = conn.execute(q).all()
            if not rows:
                return runs, steps
            after = rows[-1].id
            gone, n = _runs_batch(conn, rows, dry_run, _unindexed(db, jobs.c.state))
        runs += gone
        steps += n
        if len(rows) < per:
            return runs, steps


def _runs_batch(
    conn: Connection, rows: Sequence[Any], dry_run: bool, state: Any
) -> tuple[int, int]:
    """Within one transaction: the runs of ``rows`` whose step jobs have all ended."""
    job_ids = {r.id: [s["job"] for s in (r.steps or {}).values() if s.get("job")] for r in rows}
    every = [j for ids in job_ids.values() for j in ids]
    live: set[str] = set()
    for i in range(0, len(every), 500):
        q = sa.select(jobs.c.run_id).where(jobs.c.id.in_(every[i : i + 500]))
        live |= {r.run_id for r in conn.execute(q.where(jobs.c.state.in_(_LIVE)))}
    kept = [r.id for r in rows if r.id not in live]
    doomed = [j for run in kept for j in job_ids[run]]
    if not kept:
        return 0, 0
    n = 0
    for i in range(0, len(doomed), 500):
        chunk = doomed[i : i + 500]
        # only this run's ended step jobs: never a plain job that reused an id, never a live one
        mine = [jobs.c.id.in_(chunk), jobs.c.run_id.in_(kept), state.in_(_ENDED)]
        if dry_run:
            q = sa.select(sa.func.count()).select_from(jobs).where(*mine)
            n += int(conn.execute(q).scalar_one())
        else:
            n += conn.execute(jobs.delete().where(*mine)).rowcount
    if not dry_run:
        conn.execute(pipeline_runs.delete().where(pipeline_runs.c.id.in_(kept)))
    return len(kept), n


def past_retention(ctx: ServiceContext) -> bool:
    """Whether some job finished before the later cutoff (one indexed read): what makes
    the scheduler queue a prune. A run past retention has such step jobs too."""
    cfg = ctx.settings.jobs
    before, periodic = cutoffs(cfg.retention_days, cfg.periodic_retention_hours)
    latest = max((c for c in (before, periodic) if c is not None), default=None)
    if latest is None:  # retention is off
        return False
    with ctx.db.connect() as conn:
        q = sa.select(jobs.c.id).where(jobs.c.finished_at < latest).limit(1)
        return conn.execute(q).first() is not None


def prune_source(ctx: ServiceContext, every: float) -> PeriodicSource:
    """The scheduler's hourly ``jobs_prune`` job: none when ``every`` is 0, retention is
    off, or no job finished before the cutoffs (an idle project queues none)."""
    return platform_wide(ctx, every, target=TARGET, kind=KIND, needed=lambda: past_retention(ctx))
