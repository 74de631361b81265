"""Data quality of lake tables over time and feature freshness: ``MonitoringService`` methods.

Snapshots are rows in ``monitoring_quality`` (bodies as JSON); freshness is read live from
the feature store's materialization runs. See ``monitoring/quality.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.ids import new_id
from shipyard.catalog.context import Service
from shipyard.errors import InvalidArgument
from shipyard.monitoring import quality
from shipyard.monitoring.quality import FeatureFreshness, QualitySnapshot
from shipyard.monitoring.tables import quality_snapshots
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService


class QualityMixin(Service):
    _lake: Callable[[], LakeService]
    _features: Callable[[], FeatureService]

    def check_table_quality(self, table: str) -> QualitySnapshot:
        """Take and store a data-quality snapshot of a lake table at its current version.

        Raises:
            NotFound: no such table. PermissionDenied: no read on it.
        """
        lake = self._lake()
        info = lake.get_table(table)  # authorizes the read
        data = lake.read(table, version=info.version)
        columns = {c.name: c.type for c in info.columns} or {
            f.name: str(f.type) for f in data.schema
        }
        previous = self.table_quality(table, limit=1)
        snap = QualitySnapshot(
            id=new_id(),
            table=table,
            owner=info.owner,
            version=info.version,
            rows=data.num_rows,
            columns=columns,
            null_rates=quality.null_rates(data),
            last_write_at=info.updated_at,
            freshness_seconds=_age(info.updated_at),
            schema_change=quality.schema_change(previous[0].columns if previous else None, columns),
            created_at=utcnow(),
            created_by=self.principal.name,
        )
        if info.defined:
            refreshes = lake.list_refreshes(table, limit=1).items
            if refreshes:
                snap.refreshed_version = refreshes[0]["version"]
                snap.expectations = quality.expectation_rates(refreshes[0]["expectations"])
        with self._ctx.mutation(
            "monitoring.check_table_quality",
            team=info.owner,
            asset=f"table:{table}@{info.version}",
            permission=Permission.READ,
        ) as m:
            m.conn.execute(
                quality_snapshots.insert().values(
                    id=snap.id,
                    table_name=table,
                    owner=info.owner,
                    version=info.version,
                    body=snap.model_dump(mode="json"),
                    created_at=snap.created_at,
                )
            )
            m.details = {"rows": snap.rows, "schema_changed": bool(snap.schema_change)}
        return snap

    def table_quality(self, table: str, *, limit: int = 20) -> list[QualitySnapshot]:
        """The table's stored quality snapshots, newest first.

        Raises:
            NotFound: no such table. PermissionDenied: no read on it.
            InvalidArgument: ``limit`` not in [1, 1000].
        """
        self._lake().get_table(table)  # authorizes the read
        if not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be in [1, 1000]")
        with self._ctx.db.connect() as conn:
            rows = conn.execute(
                sa.select(quality_snapshots.c.body)
                .where(quality_snapshots.c.table_name == table)
                .order_by(quality_snapshots.c.created_at.desc())
                .limit(limit)
            ).all()
        return [QualitySnapshot.model_validate(r.body) for r in rows]

    def feature_freshness(self) -> list[FeatureFreshness]:
        """Per feature view the caller may read: its newest materialized event time (the
        watermark) and how far behind now it is, against the view's TTL."""
        from shipyard.features.tables import feature_materializations as t

        views: list[Any] = []
        token: str | None = None
        while True:
            page = self._features().list_definitions("feature_view", page_token=token)
            views.extend(page.items)
            token = page.next_page_token
            if not token:
                break
        with self._ctx.db.connect() as conn:
            found = {
                r.view: (r.wm, r.done)
                for r in conn.execute(
                    sa.select(
                        t.c.view,
                        sa.func.max(t.c.watermark).label("wm"),
                        sa.func.max(t.c.finished_at).label("done"),
                    ).group_by(t.c.view)
                )
            }
        out = []
        for v in sorted(views, key=lambda v: v.name):
            wm, done = found.get(v.name, (None, None))
            lag = _age(as_utc(wm) if wm else None)
            ttl = v.ttl_seconds
            out.append(
                FeatureFreshness(
                    view=v.name,
                    owner=v.owner or self._ctx.default_team,
                    online=bool(v.online),
                    watermark=as_utc(wm) if wm else None,
                    last_materialized_at=as_utc(done) if done else None,
                    lag_seconds=lag,
                    ttl_seconds=ttl,
                    stale=bool(ttl and lag is not None and lag > ttl),
                )
            )
        return out


def _age(at: datetime | None) -> float | None:
    return (utcnow() - at).total_seconds() if at is not None else None
