"""Checks the scheduler queues once per period for each deployment (canaries, SLOs).

``per_deployment`` builds the source that ``Scheduler(periodic=...)`` asks on every
pass: each ``every`` seconds, one in-process job per ``(deployment, team)`` the
``subjects`` query returns, owned by that team, with an idempotency key naming the
period (``<kind>:<deployment>@<n>``). Two schedulers therefore queue one job per
period, and a job still waiting blocks the next (ADR 0024).

A source names the ``kind`` of the jobs it queues: job retention keeps the succeeded
jobs of these kinds only ``jobs.periodic_retention_hours`` (ADR 0056), and takes the
list from the sources the platform wires rather than from a second copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.pipelines.models import Executor, JobSpec

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext


@dataclass(frozen=True)
class PeriodicSource:
    """What the scheduler asks each pass (``source(now)``: the specs due now), and the
    ``kind`` of the jobs it queues."""

    kind: str
    due: Callable[[datetime], list[JobSpec]]

    def __call__(self, now: datetime) -> list[JobSpec]:
        return self.due(now)


def once_per_period(
    kind: str, every: float, jobs: Callable[[datetime, int], list[JobSpec]]
) -> PeriodicSource:
    """A source that asks ``jobs(now, period)`` once per ``every`` seconds (the period
    number is ``floor(now / every)``): one read per period, not per scheduler pass.
    ``every`` 0: never."""
    last = [-1]  # the period already looked at

    def due(now: datetime) -> list[JobSpec]:
        period = int(now.timestamp() // every) if every > 0 else -1
        if period < 0 or period == last[0]:
            return []
        last[0] = period
        return jobs(now, period)

    return PeriodicSource(kind, due)


def per_deployment(
    ctx: ServiceContext,
    every: float,
    *,
    target: str,
    kind: str,
    subjects: Callable[[ServiceContext], Iterable[tuple[str, str]]],
) -> PeriodicSource:
    """The scheduler's source of ``target`` jobs (none when ``every`` is 0)."""

    def jobs(now: datetime, period: int) -> list[JobSpec]:
        return [
            JobSpec(
                target=target,
                args={"project": str(ctx.settings.project_dir), "deployment": name},
                kind=kind,
                team=team,
                executor=Executor.INPROCESS,
                max_attempts=1,  # a failed check is simply made again next period
                timeout=max(every * 6, 60.0),
                priority=10,
                idempotency_key=f"{kind}:{name}@{period}",
            )
            for name, team in subjects(ctx)
        ]

    return once_per_period(kind, every, jobs)


def platform_wide(
    ctx: ServiceContext,
    every: float,
    *,
    target: str,
    kind: str,
    needed: Callable[[], bool],
) -> PeriodicSource:
    """One ``target`` job per period for the whole project, when ``needed()`` says so.

    Owned by the default team (``security.default_team``), keyed ``<kind>@<period>``;
    none when ``every`` is 0.
    """

    def jobs(now: datetime, period: int) -> list[JobSpec]:
        if not needed():
            return []
        return [
            JobSpec(
                target=target,
                args={"project": str(ctx.settings.project_dir)},
                kind=kind,
                team=ctx.settings.security.default_team,
                executor=Executor.INPROCESS,
                max_attempts=1,  # the next period's job does what this one did not
                timeout=max(every * 6, 300.0),
                priority=10,
                idempotency_key=f"{kind}@{period}",
            )
        ]

    return once_per_period(kind, every, jobs)
