"""Scheduled materialization: what the pipeline scheduler queues for feature views with
a ``schedule``.

Each pass (at most every ``every`` seconds) reads the feature views whose spec has a
cron ``schedule`` and, for each whose newest tick came after the view was applied,
queues one ``features.materialize`` action job for that view: owned by the view's
team, run as the principal who applied the view (its roles as they are then, like a
scheduled pipeline run), keyed ``materialize:<view>@<tick>``. The key is unique per
team, so two schedulers queue a tick once, and a materialization still waiting or
running blocks the next tick's (one pending, whatever the backlog: the watermark
makes the next run catch up). A view applied between two ticks waits for the next, and
a tick after which the view was already materialized (by hand, or by the tick's own
job, whose row retention may have deleted since) queues nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from shipyard._internal import cron
from shipyard._internal.clock import as_utc
from shipyard.pipelines import actions
from shipyard.pipelines.models import Executor, JobSpec
from shipyard.pipelines.periodic import PeriodicSource, once_per_period

if TYPE_CHECKING:
    from shipyard.catalog.context import ServiceContext
    from shipyard.catalog.models import Asset

KIND = "materialize"
VIEW_KIND = "feature_view"


def scheduled_views(ctx: ServiceContext) -> list[Asset]:
    """Feature views with a materialization schedule (every team's)."""
    with ctx.db.connect() as conn:
        views = ctx.catalog.search(conn, kind=VIEW_KIND, limit=100_000)
    return [v for v in views if (v.properties.get("spec") or {}).get("schedule")]


def last_started(ctx: ServiceContext, views: list[str]) -> dict[str, datetime]:
    """When each view's newest materialization started (scheduled or not)."""
    from shipyard.features.tables import feature_materializations as fm

    if not views:
        return {}
    q = (
        sa.select(fm.c.view, sa.func.max(fm.c.started_at))
        .where(fm.c.view.in_(views))
        .group_by(fm.c.view)
    )
    with ctx.db.connect() as conn:
        return {r[0]: as_utc(r[1]) for r in conn.execute(q)}


def materializations(
    ctx: ServiceContext,
    every: float = 10.0,
    *,
    views: Callable[[ServiceContext], list[Asset]] = scheduled_views,
) -> PeriodicSource:
    """The scheduler's source of scheduled materializations (none when ``every`` is 0)."""

    def jobs(now: datetime, period: int) -> list[JobSpec]:
        specs = []
        found = views(ctx)
        started = last_started(ctx, [v.name for v in found])
        for view in found:
            spec = view.properties["spec"]
            try:
                tick = cron.last_tick(spec["schedule"], spec.get("schedule_timezone", "UTC"), now)
            except Exception:  # checked at apply: a spec edited by hand is skipped
                continue
            done = started.get(view.name)
            if tick <= as_utc(view.created_at) or (done is not None and done >= tick):
                continue  # no tick since the apply, or a materialization since the tick
            specs.append(_job(ctx, view, tick))
        return specs

    return once_per_period(KIND, every, jobs)


def _job(ctx: ServiceContext, view: Asset, tick: datetime) -> JobSpec:
    principal = view.properties.get("applied_by") or view.created_by
    return JobSpec(
        target=actions.TARGET,
        args={
            "action": "features.materialize",
            "params": {"views": [view.name]},
            "project": str(ctx.settings.project_dir),
            "principal": principal,
        },
        kind=KIND,
        team=view.owner,
        executor=Executor.INPROCESS,
        max_attempts=3,
        priority=5,
        idempotency_key=f"{KIND}:{view.name}@{tick.isoformat()}",
    )
