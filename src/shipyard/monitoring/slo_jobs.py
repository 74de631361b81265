"""SLO evaluations as scheduled jobs: what the pipeline scheduler queues for each deployment.

Every ``monitoring.slo_check_seconds`` the scheduler queues, per deployment with at
least one SLO, one ``shipyard.step_actions:evaluate_slos`` job owned by the SLOs' team
(``kind="slo"``). The idempotency key names the period (``slo:<deployment>@<n>``), so
two schedulers queue one evaluation per period, and one still waiting or running is not
queued again. The job runs ``MonitoringService.evaluate_slos`` as the monitoring
service principal: it opens and resolves incidents exactly as the call does. The same
shape as the canary checks (ADR 0024); see ADR 0037.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard.monitoring.tables import slos
from shipyard.pipelines.models import Executor, JobSpec

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext

TARGET = "shipyard.step_actions:evaluate_slos"
KIND = "slo"


def with_slos(ctx: ServiceContext) -> list[tuple[str, str]]:
    """``(deployment, owner)`` of every deployment with an SLO, by name."""
    q = sa.select(slos.c.deployment, slos.c.owner).distinct().order_by(slos.c.deployment)
    with ctx.db.connect() as conn:
        return [(r.deployment, r.owner) for r in conn.execute(q)]


def slo_checks(ctx: ServiceContext, every: float) -> Callable[[datetime], list[JobSpec]]:
    """The scheduler's source of SLO evaluations (none when ``every`` is 0)."""

    last = [-1]  # the period already looked at: one catalog read per period, not per pass

    def due(now: datetime) -> list[JobSpec]:
        period = int(now.timestamp() // every) if every > 0 else -1
        if period < 0 or period == last[0]:
            return []
        last[0] = period
        return [
            JobSpec(
                target=TARGET,
                args={"project": str(ctx.settings.project_dir), "deployment": name},
                kind=KIND,
                team=owner,
                executor=Executor.INPROCESS,
                max_attempts=1,  # a failed evaluation is simply made again next period
                timeout=max(every * 6, 60.0),
                priority=10,
                idempotency_key=f"slo:{name}@{period}",
            )
            for name, owner in with_slos(ctx)
        ]

    return due
