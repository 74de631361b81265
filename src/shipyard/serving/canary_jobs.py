"""Canary ramps as scheduled jobs: what the pipeline scheduler queues for each ramp.

Every ``serving.canary_check_seconds`` the scheduler queues, per deployment with a
running ramp, one ``shipyard.step_actions:check_canary`` job owned by the
deployment's team. The idempotency key names the period (``canary:<name>@<n>``), so
two schedulers queue one check per period, and a check still waiting is not queued
again (workers away for an hour leave one pending check, not 360). The job judges the
ramp on the shared inference log (``CanaryOps.check_canary``). See ADR 0024.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shipyard.pipelines.models import Executor, JobSpec
from shipyard.serving.store import ramping

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext

TARGET = "shipyard.step_actions:check_canary"
KIND = "canary"


def canary_checks(ctx: ServiceContext, every: float) -> Callable[[datetime], list[JobSpec]]:
    """The scheduler's source of canary checks (none when ``every`` is 0)."""

    last = [-1]  # the period already looked at: one catalog read per period, not per pass

    def due(now: datetime) -> list[JobSpec]:
        period = int(now.timestamp() // every) if every > 0 else -1
        if period < 0 or period == last[0]:
            return []
        last[0] = period
        return [
            JobSpec(
                target=TARGET,
                args={"project": str(ctx.settings.project_dir), "deployment": a.name},
                kind=KIND,
                team=a.owner,
                executor=Executor.INPROCESS,
                max_attempts=1,  # a failed check is simply made again next period
                timeout=max(every * 6, 60.0),
                priority=10,
                idempotency_key=f"canary:{a.name}@{period}",
            )
            for a in ramping(ctx)
        ]

    return due
