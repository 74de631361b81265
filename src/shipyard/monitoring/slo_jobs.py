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

from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard.monitoring.tables import slos
from shipyard.pipelines.periodic import PeriodicSource, per_deployment

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext

TARGET = "shipyard.step_actions:evaluate_slos"
KIND = "slo"


def with_slos(ctx: ServiceContext) -> list[tuple[str, str]]:
    """``(deployment, owner)`` of every deployment with an SLO, by name."""
    q = sa.select(slos.c.deployment, slos.c.owner).distinct().order_by(slos.c.deployment)
    with ctx.db.connect() as conn:
        return [(r.deployment, r.owner) for r in conn.execute(q)]


def slo_checks(ctx: ServiceContext, every: float) -> PeriodicSource:
    """The scheduler's source of SLO evaluations (none when ``every`` is 0)."""
    return per_deployment(ctx, every, target=TARGET, kind=KIND, subjects=with_slos)
