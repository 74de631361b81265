"""Canary ramps as scheduled jobs: what the pipeline scheduler queues for each ramp.

Every ``serving.canary_check_seconds`` the scheduler queues, per deployment with a
running ramp, one ``shipyard.step_actions:check_canary`` job owned by the
deployment's team. The idempotency key names the period (``canary:<name>@<n>``), so
two schedulers queue one check per period, and a check still waiting is not queued
again (workers away for an hour leave one pending check, not 360). The job judges the
ramp on the shared inference log (``CanaryOps.check_canary``). See ADR 0024.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.pipelines.periodic import PeriodicSource, per_deployment
from shipyard.serving.store import ramping

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext

TARGET = "shipyard.step_actions:check_canary"
KIND = "canary"


def canary_checks(ctx: ServiceContext, every: float) -> PeriodicSource:
    """The scheduler's source of canary checks (none when ``every`` is 0)."""
    return per_deployment(
        ctx,
        every,
        target=TARGET,
        kind=KIND,
        subjects=lambda c: [(a.name, a.owner) for a in ramping(c)],
    )
