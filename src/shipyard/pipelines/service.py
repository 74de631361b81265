"""``JobService``: submit, inspect and cancel jobs, authorized and audited.

Jobs are owned by a team: submitting and cancelling need ``write`` on it, reading
needs ``read``. A job's target must be an allowed function (``functions.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shipyard._internal.clock import utcnow
from shipyard._internal.paging import Page, readable_teams, resolve_limit
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.pipelines import actions, retention
from shipyard.pipelines.backends.base import JobQueue
from shipyard.pipelines.functions import check_allowed
from shipyard.pipelines.models import KIND, Executor, Job, JobSpec, JobState, wait_for
from shipyard.pipelines.retention import PruneResult
from shipyard.security.models import ALL_TEAMS, Permission

#: The ``kind`` of a job that runs one platform action for a caller (``submit_action``).
OPERATION = "operation"
#: The team a platform action writes to, checked as the caller (``NotFound`` when it cannot
#: see what the action touches); the composition root provides it (``shipyard.operations``).
OperationTeam = Callable[[str, dict[str, Any]], str | None]

if TYPE_CHECKING:
    from shipyard._internal.quota import QuotaCheck
    from shipyard.events.lifecycle import Lifecycle

#: Jobs per ``submit_many`` call (one transaction), at most.
MAX_BATCH = 50_000


def _spec(spec: JobSpec | dict[str, Any]) -> JobSpec:
    if isinstance(spec, JobSpec):
        return spec
    try:
        return JobSpec.model_validate(spec)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "spec"
        raise InvalidArgument(f"invalid job {where}: {err['msg']}") from None


class JobService(Service):
    """The durable job queue, for callers.

    Example:
        >>> job = p.jobs.submit("shipyard.pipelines.builtin:echo", {"x": 1})
        >>> p.jobs.get(job.id).state
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        queue: Shared[JobQueue],
        operation_team: OperationTeam | None = None,
        quotas: Callable[[], QuotaCheck] | None = None,
        lifecycle: Lifecycle | None = None,
        periodic_kinds: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        super().__init__(ctx)
        self._queue = queue
        #: The kinds of the scheduler's periodic jobs (kept ``periodic_retention_hours``).
        self._periodic_kinds = periodic_kinds
        self._lifecycle = lifecycle  # job.finished / job.failed events, when set
        self._operation_team = operation_team
        self._quotas = quotas  # concurrent_jobs caps (issue #16)

    @property
    def queue(self) -> JobQueue:
        return self._queue.get()

    def submit(self, target: str, args: dict[str, Any] | None = None, **options: Any) -> Job:
        """Queue ``target(**args)``; options are ``JobSpec`` fields (priority, pool,
        team, max_attempts, timeout, retry_delay, idempotency_key, executor, memory_mb).

        Raises:
            InvalidArgument: a bad option or args over 64 KiB.
            PermissionDenied: no ``write`` on the team, or a target that is not allowed.
        """
        return self.submit_many([{"target": target, "args": args or {}, **options}])[0]

    def submit_many(self, specs: Sequence[JobSpec | dict[str, Any]]) -> list[Job]:
        """Queue many jobs of one team in one transaction (one audit record)."""
        if not specs:
            return []
        if len(specs) > MAX_BATCH:
            raise InvalidArgument(f"{len(specs)} jobs in one call; at most {MAX_BATCH}")
        parsed = [_spec(s) for s in specs]
        teams = {s.team or self._ctx.default_team for s in parsed}
        if len(teams) != 1:
            raise InvalidArgument("submit_many takes jobs of one team per call")
        team = teams.pop()
        single = len(parsed) == 1
        self.enforce_quota(team, len(parsed))
        with self._ctx.mutation("jobs.submit", team=team) as m:
            for target in sorted({s.target for s in parsed}):
                check_allowed(target, self._ctx.settings.jobs)  # refused: audited as an error
            out = self.queue.enqueue_many(
                parsed, team=team, created_by=self.principal.name, conn=m.conn
            )
            m.asset = out[0].asset if single else None
            m.details = {"count": len(out), "targets": sorted({s.target for s in parsed})[:20]}
        return out

    def enforce_quota(self, team: str, adding: int) -> None:
        """The team's ``concurrent_jobs`` cap (issue #16), before anything is queued."""
        if self._quotas is not None:
            from shipyard._internal.quota import QuotaResource

            self._quotas().enforce(
                QuotaResource.CONCURRENT_JOBS, team, action="jobs.submit", adding=adding
            )

    def enforce_held(self, team: str, *, cpus: float, gpus: float, action: str) -> None:
        """The team's ``cpus``/``gpus`` caps (ADR 0047): a job asking for more than the
        whole cap could never run, so it is refused before it is queued."""
        if self._quotas is not None:
            from shipyard._internal.quota import QuotaResource

            check = self._quotas()
            check.enforce_request(QuotaResource.CPUS, team, action=action, amount=cpus)
            if gpus:
                check.enforce_request(QuotaResource.GPUS, team, action=action, amount=gpus)

    def submit_action(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        team: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue one platform action (``lake.refresh``, ``features.materialize``,
        ``serving.score_table``, ...) as a job that runs as the caller: what a long HTTP
        operation answers 202 with. ``team`` owns the job (default: the team the action
        writes to, from the platform's ``operation_team``; else the default team).

        Raises:
            InvalidArgument: an unknown action or bad arguments.
            NotFound, PermissionDenied: from resolving the team (what the action
                touches must be visible), or no ``write`` on it.
        """
        params = dict(params or {})
        actions.check_args(action, params)
        if team is None:
            team = self._operation_team(action, params) if self._operation_team else None
        team = team or self._ctx.default_team
        self.enforce_quota(team, 1)
        spec = JobSpec(
            target=actions.TARGET,
            args={
                "action": action,
                "params": params,
                "project": str(self._ctx.settings.project_dir),
                "principal": self.principal.name,
            },
            kind=OPERATION,
            team=team,
            executor=Executor.INPROCESS,
            idempotency_key=idempotency_key,
        )
        with self._ctx.mutation("jobs.submit", team=team) as m:
            out = self.queue.enqueue_many(
                [spec], team=team, created_by=self.principal.name, conn=m.conn
            )[0]
            m.asset = out.asset
            m.details = {"count": 1, "action": action}
        return out

    def announce(self, ended: Sequence[Job], *, conn: Any = None) -> None:
        """Publish ``job.finished`` / ``job.failed`` for jobs that just ended (what a worker
        calls when it records them: in ``conn``, the recording transaction, or in one of
        its own). A job requeued for a retry is not ended. Not audited: the events are
        the platform's, not the caller's."""
        lifecycle = self._lifecycle
        done = [j for j in ended if j.state in (JobState.SUCCEEDED, JobState.FAILED, JobState.DEAD)]
        if lifecycle is None or not done or not self._ctx.settings.jobs.events:
            return
        batches: dict[tuple[str, str], list[dict[str, Any]]] = {}
        at = utcnow().isoformat()
        for job in done:
            event, fields = _job_event(job)
            envelope = {"event": event, "at": at, "team": job.team, "principal": job.created_by}
            batches.setdefault((job.team, event), []).append(
                {**envelope, "asset": job.asset, **fields}
            )
        if conn is not None:  # a savepoint: events that fail must not undo the recording
            with conn.begin_nested():
                for (team, event), records in batches.items():
                    lifecycle.publish(conn, team, event, records)
            return
        with self._ctx.db.begin() as own:  # one batch per team and kind
            for (team, event), records in batches.items():
                lifecycle.publish(own, team, event, records)

    def get(self, job_id: str) -> Job:
        job = self.queue.get(job_id)
        self._ctx.require(Permission.READ, job.team, action="jobs.get", asset=job.asset)
        return job

    def logs(self, job_id: str) -> str:
        """The captured stdout, stderr and logging of the job's last attempt."""
        return self.get(job_id).logs or ""

    def list(
        self,
        *,
        state: JobState | str | None = None,
        pool: str | None = None,
        team: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Job]:
        """Newest first, among the teams the caller may read (or ``team``)."""
        try:
            wanted = JobState(state) if state is not None else None
        except ValueError:
            raise InvalidArgument(
                f"unknown job state {state!r}: one of {[s.value for s in JobState]}"
            ) from None
        if team is not None:
            self._ctx.require(Permission.READ, team, action="jobs.list")
            teams: list[str] | None = [team]
        else:
            teams = readable_teams(self.principal)
        size = resolve_limit(self._ctx.settings, limit)
        return self.queue.list(
            state=wanted, pool=pool, teams=teams, limit=size, page_token=page_token
        )

    def prune(self, *, older_than_days: float | None = None, dry_run: bool = False) -> PruneResult:
        """Delete job history past retention (ADR 0056): jobs and pipeline runs (with their
        step jobs) that ended more than ``older_than_days`` ago (default
        ``jobs.retention_days``; none when that is 0), and succeeded platform periodic
        jobs older than ``jobs.periodic_retention_hours``. Queued and running jobs are
        never deleted. ``dry_run``: count only. Audited as ``jobs.prune``.

        Raises:
            InvalidArgument: ``older_than_days`` not above 0.
            PermissionDenied: the caller is not an admin of every team.
        """
        if older_than_days is not None and not 0 < older_than_days <= 36_500:
            raise InvalidArgument(f"older_than_days must be in (0, 36500], not {older_than_days}")
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="jobs.prune")
        cfg = self._ctx.settings.jobs
        days = cfg.retention_days if older_than_days is None else older_than_days
        before, periodic_before = retention.cutoffs(days, cfg.periodic_retention_hours)
        out = retention.prune(
            self._ctx.db,
            before=before,
            periodic_before=periodic_before,
            periodic_kinds=self._periodic_kinds(),
            dry_run=dry_run,
        )
        with self._ctx.mutation("jobs.prune", team=ALL_TEAMS, permission=Permission.ADMIN) as m:
            m.details = out.model_dump(mode="json", exclude={"seconds"})
            m.noop = dry_run or not (out.jobs or out.runs or out.ticks)
        return out

    def wait(self, job_id: str, *, timeout: float = 60.0) -> Job:
        """The job once it has ended (succeeded, failed, dead or cancelled), or as it is
        after ``timeout`` seconds: what a ``submit=True`` caller polls."""
        return wait_for(self.get, job_id, timeout)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (a running one is stopped at its next heartbeat).

        Raises:
            Conflict: the job already ended.
        """
        job = self.queue.get(job_id)
        with self._ctx.mutation("jobs.cancel", team=job.team, asset=job.asset) as m:
            out = self.queue.cancel(job_id, conn=m.conn)
            m.details = {"was": job.state.value}
        if out.run_id is not None:  # a step: its run skips what depended on it
            from shipyard.pipelines.runs import RunEngine

            RunEngine(self._ctx, queue=self._queue.get).advance(out.run_id)
        return out


def _job_event(job: Job) -> tuple[str, dict[str, Any]]:
    fields: dict[str, Any] = {
        "job_id": job.id,
        "kind": job.kind,
        "target": job.target,
        "run_id": job.run_id,
        "step": job.step,
        "attempts": job.attempts,
    }
    if job.state == JobState.SUCCEEDED:
        return "job.finished", fields
    return "job.failed", {**fields, "state": job.state.value, "error": job.error}


__all__ = ["KIND", "JobService"]
