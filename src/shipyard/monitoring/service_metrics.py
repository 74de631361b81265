"""``/metrics`` and readiness: ``MonitoringService`` methods (``monitoring/metrics.py``
writes the text; ``monitoring/health.py`` runs the probe)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard.catalog.context import Service
from shipyard.monitoring.quality import FeatureFreshness
from shipyard.monitoring.tables import drift_reports
from shipyard.security.models import ALL_TEAMS, Permission

if TYPE_CHECKING:
    from shipyard.monitoring.service import MonitoringService
    from shipyard.serving.service import ServingService


class MetricsMixin(Service):
    _serving: Callable[[], ServingService]
    _internal: Callable[[], MonitoringService]

    def feature_freshness(self) -> list[FeatureFreshness]:  # QualityMixin's
        raise NotImplementedError

    def metrics_text(self) -> str:
        """This process's Prometheus exposition (every team's numbers: needs read on ``*``).

        Raises:
            PermissionDenied: the caller may not read every team.
        """
        from shipyard.monitoring.metrics import render

        self._ctx.require(Permission.READ, ALL_TEAMS, action="monitoring.metrics")
        lags = {
            f.view: f.lag_seconds for f in self.feature_freshness() if f.lag_seconds is not None
        }
        return render(
            self._serving().runtimes.built(), self.gauges(), lags, self._queue(), self._spool()
        )

    def _spool(self) -> tuple[int, float]:
        """(rows, age of the oldest in seconds) of the prediction spool: a flush that
        stopped running shows as a growing age (one indexed read; no authorization)."""
        from shipyard._internal.clock import as_utc, utcnow
        from shipyard.serving.tables import prediction_spool as spool

        q = sa.select(
            sa.func.coalesce(sa.func.sum(spool.c.rows), 0), sa.func.min(spool.c.created_at)
        )
        with self._ctx.db.connect() as conn:
            rows, oldest = conn.execute(q).one()
        if oldest is None:
            return 0, 0.0
        return int(rows), max(0.0, (utcnow() - as_utc(oldest)).total_seconds())

    def _queue(self) -> dict[tuple[str, str], int]:
        """Jobs queued and running per pool (one indexed count; no authorization)."""
        from shipyard.pipelines.tables import jobs

        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(jobs.c.pool, jobs.c.state, sa.func.count())
                .where(jobs.c.state.in_(("queued", "running")))
                .group_by(jobs.c.pool, jobs.c.state)
            ).all()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def readiness(self, *, expected: Sequence[str] | None = None) -> tuple[bool, dict[str, str]]:
        """(ready, checks): the metadata DB and the online store answer, no inference
        worker of this process died, and each deployment of ``expected`` (those that
        failed to load at the server's start) has loaded since. No authorization: the
        probe is public and its checks name no asset."""
        from shipyard.monitoring.health import readiness

        def online() -> None:
            self._internal()._features().online_store.read_one("__readiness__", "probe")

        serving = self._serving()
        not_loaded = None
        if expected is not None:
            cached = serving.runtime.cached() if expected else {}
            not_loaded = sum(1 for name in expected if name not in cached)
        return readiness(self._ctx.db, serving.runtimes.worker_pids(), online, not_loaded)

    def gauges(self) -> list[dict[str, Any]]:
        """Status and PSIs of every deployment's newest report (for /metrics), no
        authorization: numbers only. A report's body is decoded once per process (a
        stored report never changes), so a scrape reads ids, not 100 JSON bodies."""
        from shipyard.monitoring.metrics import drift_gauges

        with self._ctx.db.connect() as conn:
            newest = (
                sa.select(
                    drift_reports.c.deployment,
                    sa.func.max(drift_reports.c.created_at).label("at"),
                )
                .group_by(drift_reports.c.deployment)
                .subquery()
            )
            ids = [
                r.id
                for r in conn.execute(
                    sa.select(drift_reports.c.id).join(
                        newest,
                        sa.and_(
                            newest.c.deployment == drift_reports.c.deployment,
                            newest.c.at == drift_reports.c.created_at,
                        ),
                    )
                )
            ]
            missing = [i for i in ids if i not in _GAUGES]
            for chunk in range(0, len(missing), 500):
                for r in conn.execute(
                    sa.select(drift_reports.c.id, drift_reports.c.body).where(
                        drift_reports.c.id.in_(missing[chunk : chunk + 500])
                    )
                ):
                    _GAUGES[r.id] = drift_gauges(r.body)
        if len(_GAUGES) > 4 * max(len(ids), 1000):  # keep the cache to the newest
            keep = set(ids)
            for key in [k for k in list(_GAUGES) if k not in keep]:
                _GAUGES.pop(key, None)
        found = [_GAUGES.get(i) for i in ids]
        return [g for g in found if g is not None]


#: Report id -> its ``/metrics`` gauges (reports are immutable once stored).
_GAUGES: dict[str, dict[str, Any]] = {}
