"""The platform scorecard (``MonitoringService.scorecard``): reads the audit log, the drift
reports and SLO incidents, the live deployments and their feature services. See ``monitoring/scorecard.py``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import as_utc, utcnow
from shipyard.catalog.context import Service
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring import scorecard as sc
from shipyard.monitoring.scorecard import Scorecard
from shipyard.monitoring.tables import drift_reports, incidents
from shipyard.security.models import ALL_TEAMS, Permission

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.serving.service import ServingService


class ScorecardMixin(Service):
    _serving: Callable[[], ServingService]
    _features: Callable[[], FeatureService]

    def scorecard(self, *, days: float = 28.0) -> Scorecard:
        """The platform's results over the last ``days``: deployments and their success rate,
        lead time, models in production, incidents, adoption per team, feature reuse.

        Every team's numbers: needs read on every team (``*``).

        Raises:
            PermissionDenied: the caller may not read every team.
            InvalidArgument: ``days`` not in (0, 366].
        """
        self._ctx.require(Permission.READ, ALL_TEAMS, action="monitoring.scorecard")
        if not 0 < days <= 366:
            raise InvalidArgument("days must be in (0, 366]")
        until = utcnow()
        since = until - timedelta(days=days)
        every = self._audit_rows()
        recent = [r for r in every if r.ts >= since]
        deployed, failures, rollbacks = sc.deploy_counts(recent)
        leads = [t for t in sc.lead_times(every) if t >= 0]
        with self._ctx.db.connect() as conn:
            reports = [
                (r.deployment, r.status, as_utc(r.created_at))
                for r in conn.execute(
                    sa.select(
                        drift_reports.c.deployment,
                        drift_reports.c.status,
                        drift_reports.c.created_at,
                    )
                    .where(drift_reports.c.created_at >= since)
                    .order_by(drift_reports.c.created_at)
                )
            ]
            slo_rows = [
                (as_utc(r.opened_at), as_utc(r.resolved_at) if r.resolved_at else None)
                for r in conn.execute(
                    # drift incidents are counted from the reports' episodes (above)
                    sa.select(incidents.c.opened_at, incidents.c.resolved_at).where(
                        incidents.c.opened_at >= since, incidents.c.source.like("slo:%")
                    )
                )
            ]
        opened, still_open, resolved = sc.incidents(reports)
        slo_opened, slo_open, slo_resolved = sc.slo_incidents(slo_rows)
        models, live, views = self._production()
        return Scorecard(
            since=since,
            until=until,
            deployments=deployed,
            deployments_per_week=deployed / (days / 7),
            failures=failures,
            rollbacks=rollbacks,
            success_rate=max(0.0, 1 - failures / deployed) if deployed else None,
            lead_time_median_s=sc.median(leads),
            lead_time_p90_s=sc.p90(leads),
            lead_times_measured=len(leads),
            models_in_production=len(models),
            deployments_live=live,
            incidents=opened + slo_opened,
            incidents_open=still_open + slo_open,
            slo_incidents=slo_opened,
            slo_incidents_open=slo_open,
            time_to_resolve_median_s=sc.median(resolved + slo_resolved),
            adoption=sc.adoption(recent),
            reused_feature_views=sc.reuse(views),
        )

    def _audit_rows(self) -> list[Any]:
        from shipyard.governance.tables import audit_log as t

        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.ts, t.c.principal, t.c.action, t.c.asset, t.c.team, t.c.outcome)
                .add_columns(t.c.details)
                .where(t.c.action.in_(sc.AUDIT_ACTIONS))
                .order_by(t.c.id)
            ).all()
        return [SimpleNamespace(**{**r._asdict(), "ts": as_utc(r.ts)}) for r in rows]

    def _production(self) -> tuple[set[str], int, dict[str, set[str]]]:
        """(models served by a live variant, live deployments, {model: feature views})."""
        serving, features = self._serving(), self._features()
        deps: list[Any] = []
        token: str | None = None
        while True:
            page = serving.list_deployments(page_token=token)
            deps.extend(page.items)
            token = page.next_page_token
            if not token:
                break
        models: set[str] = set()
        views: dict[str, set[str]] = {}
        for d in deps:
            names = {_model_name(v.model) for v in d.spec.variants if not v.shadow}
            models |= names
            if d.spec.feature_service:
                try:
                    fs = features.get_definition("feature_service", d.spec.feature_service)
                except NotFound:
                    continue
                used = {ref.split(":", 1)[0] for ref in fs.refs()}
                for name in names:
                    views.setdefault(name, set()).update(used)
        return models, len(deps), views


def _model_name(ref: str) -> str:
    """``churn/3``, ``churn@live`` or ``models:/churn/3`` -> ``churn``."""
    ref = ref.removeprefix("models:/")
    return ref.split("/", 1)[0].split("@", 1)[0]
