"""The run engine: a run enqueues its root steps; each finished step enqueues the
steps it unblocks; a failed step's downstream is skipped, never run.

A run row holds a snapshot of the pipeline spec and each step's state and job id.
``advance`` recomputes the run from its steps' jobs, under the run's row lock
(``FOR UPDATE`` on PostgreSQL, the writer lock on SQLite), so two workers finishing
two upstreams at once enqueue the shared downstream once (its idempotency key
``run:<id>:<step>`` makes it once in any case).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.ids import new_id
from shipyard.catalog.context import ServiceContext
from shipyard.errors import Conflict, NotFound
from shipyard.pipelines import actions
from shipyard.pipelines.backends.base import JobQueue
from shipyard.pipelines.definitions import KIND as PIPELINE_KIND
from shipyard.pipelines.definitions import PipelineSpec, StepSpec
from shipyard.pipelines.models import Job, JobSpec, JobState
from shipyard.pipelines.run_lineage import (
    RUN_KIND,
    STEP_EDGE,
    StepAccess,
    job_asset,
    record_job_access,
    record_step_access,
)
from shipyard.pipelines.tables import jobs, pipeline_runs


class RunState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Step states: pending (upstreams not done), queued, running, and the ends below.
STEP_DONE = frozenset({"succeeded", "failed", "skipped", "cancelled"})
_FROM_JOB = {
    JobState.QUEUED: "queued",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.DEAD: "failed",
    JobState.CANCELLED: "cancelled",
}


class PipelineRun(BaseModel):
    id: str
    pipeline: str
    pipeline_version: int
    team: str
    state: RunState
    trigger: str
    trigger_key: str | None
    partition: str | None
    backfill_id: str | None
    steps: dict[str, dict[str, Any]]
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @property
    def asset(self) -> str:
        return f"{RUN_KIND}:{self.id}"


def run_from_row(row: Any) -> PipelineRun:
    m = dict(row._mapping)
    m.pop("spec", None)
    for k in ("created_at", "finished_at"):
        if m[k] is not None:
            m[k] = as_utc(m[k])
    return PipelineRun.model_validate(m)


class RunEngine:
    """Creates and advances runs (no authorization here: the service's callers have it)."""

    def __init__(self, ctx: ServiceContext, *, queue: Callable[[], JobQueue]) -> None:
        self._ctx = ctx
        self._get_queue = queue

    @property
    def _queue(self) -> JobQueue:
        return self._get_queue()

    # -- creating ------------------------------------------------------------------

    def create(
        self,
        conn: Connection,
        spec: PipelineSpec,
        *,
        version: int,
        team: str,
        principal: str,
        trigger: str,
        partitions: Sequence[str | None] = (None,),
        trigger_keys: Sequence[str | None] | None = None,
        backfill_id: str | None = None,
    ) -> list[str]:
        """Insert one run per partition and queue their root steps (bulk, in ``conn``)."""
        now = utcnow()
        roots = [s for s in spec.steps if not s.after]
        snapshot = spec.model_dump(mode="json")
        keys = trigger_keys or [None] * len(partitions)
        run_rows: list[dict[str, Any]] = []
        specs: list[JobSpec] = []
        links: list[tuple[str, str]] = []
        for partition, key in zip(partitions, keys, strict=True):
            run_id = new_id()
            steps: dict[str, dict[str, Any]] = {s.name: {"state": "pending"} for s in spec.steps}
            for s in roots:
                specs.append(self._job_spec(s, principal, team, None, partition))
                links.append((run_id, s.name))
            run_rows.append(
                {
                    "id": run_id,
                    "pipeline": spec.name,
                    "pipeline_version": version,
                    "team": team,
                    "state": RunState.RUNNING.value,
                    "trigger": trigger,
                    "trigger_key": key,
                    "partition": partition,
                    "backfill_id": backfill_id,
                    "spec": snapshot,
                    "steps": steps,
                    "error": None,
                    "created_by": principal,
                    "created_at": now,
                    "finished_at": None,
                }
            )
        queued = self._queue.enqueue_many(
            specs, team=team, created_by=principal, conn=conn, links=links
        )
        by_run: dict[str, dict[str, str]] = {}
        for job in queued:
            by_run.setdefault(job.run_id or "", {})[job.step or ""] = job.id
        for row in run_rows:
            for step, job_id in by_run.get(row["id"], {}).items():
                row["steps"][step] = {"state": "queued", "job": job_id}
        conn.execute(pipeline_runs.insert(), run_rows)
        return [r["id"] for r in run_rows]

    def _job_spec(
        self,
        step: StepSpec,
        principal: str,
        team: str,
        inputs: dict[str, Any] | None,
        partition: str | None,
        key: str | None = None,
    ) -> JobSpec:
        extra: dict[str, Any] = {}
        if inputs is not None:
            extra["inputs"] = inputs
        if partition is not None:
            extra["partition"] = partition
        if step.action is not None:
            target = actions.TARGET
            args = {
                "action": step.action,
                "params": step.args,
                "project": str(self._ctx.settings.project_dir),
                "principal": principal,
                **extra,
            }
        else:
            target, args = step.function or "", {**step.args, **extra}
        return JobSpec(
            target=target,
            args=args,
            kind="step",
            team=team,
            pool=step.pool,
            executor=step.executor,
            timeout=step.timeout,
            max_attempts=step.max_attempts,
            retry_delay=step.retry_delay,
            memory_mb=step.memory_mb,
            idempotency_key=key,
        )

    # -- advancing -----------------------------------------------------------------

    def advance(self, run_id: str, *, conn: Connection | None = None) -> PipelineRun | None:
        """Bring the run up to date with its jobs: queue unblocked steps, skip the
        downstream of failures, finish the run when every step has ended.

        ``conn``: in that transaction (a worker's completion: the upstream's success and
        its dependents queued commit together)."""
        if conn is not None:
            return self._advance(conn, run_id)
        with self._ctx.db.begin() as own:
            return self._advance(own, run_id)

    def _advance(self, conn: Connection, run_id: str) -> PipelineRun | None:
        q = sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)
        row = conn.execute(
            q.with_for_update() if self._ctx.db.dialect == "postgresql" else q
        ).first()
        if row is None or row.state != RunState.RUNNING.value:
            return None
        spec = PipelineSpec.model_validate(row.spec)
        steps = {k: dict(v) for k, v in row.steps.items()}
        found = self._jobs(conn, [v["job"] for v in steps.values() if "job" in v])
        for st in steps.values():
            job = found.get(st.get("job", ""))
            if job is not None:
                st["state"] = _FROM_JOB[job.state]
        ready = self._unblock(spec, steps)
        if ready:
            self._enqueue(conn, row, spec, steps, found, ready)
        values: dict[str, Any] = {"steps": steps}
        if all(s["state"] in STEP_DONE for s in steps.values()):
            values |= self._finish(conn, row, spec, steps, found)
        conn.execute(pipeline_runs.update().where(pipeline_runs.c.id == run_id).values(**values))
        out = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).one()
        return run_from_row(out)

    def _jobs(self, conn: Connection, ids: list[str]) -> dict[str, Job]:
        if not ids:
            return {}
        cols = [jobs.c.id, jobs.c.state, jobs.c.result, jobs.c.error]
        rows = conn.execute(sa.select(*cols).where(jobs.c.id.in_(ids)))
        return {
            r.id: Job.model_construct(
                id=r.id, state=JobState(r.state), result=r.result, error=r.error
            )
            for r in rows
        }

    @staticmethod
    def _unblock(spec: PipelineSpec, steps: dict[str, dict[str, Any]]) -> list[StepSpec]:
        ready = []
        for name in spec.order():
            st = steps[name]
            if st["state"] != "pending":
                continue
            ups = [steps[u]["state"] for u in spec.step(name).after]
            if any(u in ("failed", "skipped", "cancelled") for u in ups):
                st["state"] = "skipped"  # in topological order: skips cascade downstream
            elif all(u == "succeeded" for u in ups):
                ready.append(spec.step(name))
        return ready

    def _enqueue(
        self,
        conn: Connection,
        row: Any,
        spec: PipelineSpec,
        steps: dict[str, dict[str, Any]],
        found: dict[str, Job],
        ready: list[StepSpec],
    ) -> None:
        specs, links = [], []
        for s in ready:
            inputs = {u: found[steps[u]["job"]].result for u in s.after}
            key = f"run:{row.id}:{s.name}"
            specs.append(self._job_spec(s, row.created_by, row.team, inputs, row.partition, key))
            links.append((row.id, s.name))
        queued = self._queue.enqueue_many(
            specs, team=row.team, created_by=row.created_by, conn=conn, links=links
        )
        for s, job in zip(ready, queued, strict=True):
            steps[s.name] = {"state": "queued", "job": job.id}

    def _finish(
        self,
        conn: Connection,
        row: Any,
        spec: PipelineSpec,
        steps: dict[str, dict[str, Any]],
        found: dict[str, Job],
    ) -> dict[str, Any]:
        failed = [n for n in spec.order() if steps[n]["state"] == "failed"]
        error = None
        if failed:
            job = found.get(steps[failed[0]].get("job", ""))
            error = f"step '{failed[0]}' failed: {job.error if job else 'unknown error'}"
        state = RunState.FAILED if failed else RunState.SUCCEEDED
        if any(s["state"] == "cancelled" for s in steps.values()) and not failed:
            state = RunState.CANCELLED
        self._record_lineage(conn, row, spec, steps)
        return {"state": state.value, "error": error, "finished_at": utcnow()}

    def _record_lineage(
        self, conn: Connection, row: Any, spec: PipelineSpec, steps: dict[str, dict[str, Any]]
    ) -> None:
        """The run as a ``job:`` asset: from its pipeline and what its actions read, to
        what they wrote."""
        catalog = self._ctx.catalog
        pipeline = catalog.find(conn, PIPELINE_KIND, row.pipeline)
        if pipeline is None:
            return
        asset = job_asset(self._ctx, conn, row)
        catalog.add_edge(
            conn,
            pipeline,
            asset,
            operation="run",
            created_by=row.created_by,
            source_version=row.pipeline_version,
        )
        for s in spec.steps:
            if s.action is None or steps[s.name]["state"] != "succeeded":
                continue
            action = actions.ACTIONS[s.action]
            writes = action.writes(s.args)
            reads = [f"table:{s.args[p]}" for p in action.tables if p in s.args]
            for ref, outgoing in [(r, False) for r in reads if r not in writes] + [
                (w, True) for w in writes
            ]:
                kind, _, name = ref.partition(":")
                other = catalog.find(conn, kind, name)
                if other is None:
                    continue
                source, target = (asset, other) if outgoing else (other, asset)
                catalog.add_edge(
                    conn, source, target, operation=STEP_EDGE, created_by=row.created_by
                )

    def record_access(self, job: Job, access: StepAccess) -> None:
        """What ``job`` wrote and read through the platform, as lineage (``run_lineage``;
        the worker calls it when the job ends): a pipeline step's is its run's; another
        job's is its own ``job:<id>`` asset's."""
        if job.run_id is not None:
            record_step_access(self._ctx, job.run_id, access)
        else:
            record_job_access(self._ctx, job.id, job.team, job.created_by, job.target, access)

    # -- cancelling and reading ----------------------------------------------------

    def cancel(self, conn: Connection, run_id: str) -> None:
        row = conn.execute(sa.select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no pipeline run {run_id}", run_id=run_id)
        if row.state != RunState.RUNNING.value:
            raise Conflict(f"pipeline run {run_id} already ended ({row.state})", run_id=run_id)
        steps = {k: dict(v) for k, v in row.steps.items()}
        live = [v["job"] for v in steps.values() if v["state"] in ("queued", "running")]
        if live:
            conn.execute(
                jobs.update()
                .where(jobs.c.id.in_(live), jobs.c.state.in_(["queued", "running"]))
                .values(state=JobState.CANCELLED.value, lease_until=None, finished_at=utcnow())
            )
        for st in steps.values():
            if st["state"] not in STEP_DONE:
                st["state"] = "cancelled"
        conn.execute(
            pipeline_runs.update()
            .where(pipeline_runs.c.id == run_id)
            .values(steps=steps, state=RunState.CANCELLED.value, finished_at=utcnow())
        )

    def finished_since(self, since: datetime) -> list[str]:
        """Runs with a step job that ended since ``since`` (the reconcile pass)."""
        q = (
            sa.select(jobs.c.run_id)
            .where(jobs.c.run_id.is_not(None), jobs.c.finished_at >= since)
            .distinct()
        )
        with self._ctx.db.connect() as conn:
            ids = [r.run_id for r in conn.execute(q)]
            if not ids:
                return []
            live = sa.select(pipeline_runs.c.id).where(
                pipeline_runs.c.id.in_(ids), pipeline_runs.c.state == RunState.RUNNING.value
            )
            return [r.id for r in conn.execute(live)]
