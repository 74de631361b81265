"""Online: materialize into the online store, freshness, lookups and pushes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

import pyarrow as pa
import sqlalchemy as sa

from shipyard._internal import progress
from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.job import Job
from shipyard._internal.progress import OnProgress
from shipyard._internal.prom import ONLINE_READS
from shipyard.errors import InvalidArgument, NotFound, QuotaExceeded
from shipyard.features import online, registry
from shipyard.features._base import DEFINITION_ASSET_KINDS, FeatureServiceBase
from shipyard.features.codec import ValueCodec, micros
from shipyard.features.materialize import key_strings, materialize_view
from shipyard.features.models import (
    FeatureView,
    MaterializeResult,
    OnlineFeatures,
    PushResult,
    PushSource,
)
from shipyard.features.offline import ViewQuery
from shipyard.features.offline import connect as duck_connect
from shipyard.features.push import push_schema, to_push_table
from shipyard.features.registry import Definitions
from shipyard.features.tables import feature_materializations
from shipyard.security.models import Permission

PUSH_TARGETS = ("online", "offline", "online_and_offline")


class OnlineMixin(FeatureServiceBase):
    # -- materialize -------------------------------------------------------------------------

    @overload
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: Literal[False] = False,
        on_progress: OnProgress | None = None,
    ) -> list[MaterializeResult]: ...
    @overload
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: Literal[True],
        on_progress: None = None,
    ) -> Job: ...
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: bool = False,
        on_progress: OnProgress | None = None,
    ) -> list[MaterializeResult] | Job:
        """Write the latest value per entity of online views into the online store.

        Without ``start`` each view continues from its watermark (the newest event
        time it materialized); a stored value is never replaced by an older one.

        Raises:
            NotFound: an unknown view. InvalidArgument: the view is not online.

        ``on_progress`` is called with (entities written so far, None). ``submit=True``
        queues it as a job for the caller (authorized first) and returns the job.
        """
        if submit:
            views = list(views) if views is not None else None
            return self._queue_action("features.materialize", views=views, start=start, end=end)
        defs = self._defs()
        names = (
            list(views) if views is not None else [v.name for v in defs.views.values() if v.online]
        )
        results = []
        for name in names:
            view = defs.views.get(name)
            if view is None:
                raise NotFound(
                    f"no feature view named '{name}'" + registry.suggest(name, defs.views)
                )
            if not view.online:
                raise InvalidArgument(f"feature view '{name}' is not online")
            with progress.reporting(on_progress):
                results.append(self._materialize_one(defs, view, start, end))
            if self._materialized is not None:
                self._materialized(name)
        return results

    def _materialize_one(
        self, defs: Definitions, view: FeatureView, start: datetime | None, end: datetime | None
    ) -> MaterializeResult:
        team = self._team(view)
        self._ctx.require(Permission.WRITE, team, action="features.materialize")
        if self._quotas is not None:
            from shipyard._internal.quota import QuotaResource

            self._quotas().enforce(QuotaResource.ONLINE_ROWS, team, action="features.materialize")
        ns = online.namespace(view)
        previous = self._watermark(view.name, ns)
        if start is None:
            start = previous
        started = utcnow()
        table = self._lake.open(view.source_table)
        vq = ViewQuery(view, table, view.feature_names, view.feature_names, defs.join_keys(view))
        con = duck_connect(self._ctx.settings.home_dir / "tmp" / "duckdb")
        try:
            stats = materialize_view(con, vq, self.online_store, ns, start=start, end=end)
        finally:
            con.close()
        wm = _from_micros(stats.max_us) if stats.max_us is not None else None
        overall = max((w for w in (wm, previous) if w is not None), default=None)
        summary = stats.summary()
        with self._ctx.mutation(
            "features.materialize", team=team, asset=f"feature_view:{view.name}"
        ) as m:
            m.conn.execute(
                feature_materializations.insert().values(
                    view=view.name,
                    namespace=ns,
                    backend=self._ctx.settings.online.backend,
                    started_at=started,
                    finished_at=utcnow(),
                    start_ts=start,
                    end_ts=end,
                    watermark=wm,
                    source_version=table.version,
                    rows=stats.rows,
                    entities=stats.entities,
                    written=stats.written,
                    statistics=summary,
                    principal=self.principal.name,
                )
            )
            m.details = {
                "rows": stats.rows,
                "entities": stats.entities,
                "source_version": table.version,
            }
        return MaterializeResult(
            view=view.name,
            entities=stats.entities,
            rows=stats.rows,
            watermark=overall,
            source_version=table.version,
            seconds=(utcnow() - started).total_seconds(),
        )

    def _watermark(self, view: str, ns: str) -> datetime | None:
        t = feature_materializations
        with self._ctx.db.connect() as conn:
            wm = conn.execute(
                sa.select(sa.func.max(t.c.watermark)).where(t.c.view == view, t.c.namespace == ns)
            ).scalar()
        return as_utc(wm) if wm is not None else None

    def get_view_status(self, name: str) -> dict[str, Any]:
        """Freshness and statistics of a view: its last materialization and run count.

        Raises:
            NotFound: no such feature view.
        """
        view = self._view(self._defs(), name)
        # the view's owner team, not the default team: each team reads its own views' status
        team = view.owner or self._ctx.default_team
        self._ctx.require(
            Permission.READ, team, action="features.status", asset=f"feature_view:{name}"
        )
        ns = online.namespace(view)
        t = feature_materializations
        with self._ctx.db.connect() as conn:
            last = conn.execute(
                sa.select(t).where(t.c.view == name, t.c.namespace == ns).order_by(t.c.id.desc())
            ).first()
            runs = conn.execute(
                sa.select(sa.func.count()).select_from(t).where(t.c.view == name)
            ).scalar()
        wm = self._watermark(name, ns)
        out: dict[str, Any] = {
            "view": name,
            "online": view.online,
            "namespace": ns,
            "watermark": wm.isoformat() if wm else None,
            "runs": int(runs or 0),
        }
        if last is not None:
            out.update(
                last_materialized_at=as_utc(last.finished_at).isoformat(),
                source_version=last.source_version,
                rows=last.rows,
                entities=last.entities,
                written=last.written,
                statistics=last.statistics,
            )
        return out

    # -- online ------------------------------------------------------------------------------

    def get_online_features(
        self,
        features: list[str] | None = None,
        *,
        feature_service: str | None = None,
        entity_rows: Sequence[dict[str, Any]],
        full_feature_names: bool = False,
    ) -> OnlineFeatures:
        """The newest materialized values for each entity row, with a status per value.

        Statuses: ``PRESENT``, ``NOT_FOUND`` (never materialized), ``OUTSIDE_MAX_AGE``
        (older than the view's TTL; the value is withheld). Needs ``read_features``.

        Raises:
            NotFound: an unknown feature or service. InvalidArgument: a row lacks a join key.
        """
        _check_online_request(features, feature_service, entity_rows)
        cap = self._ctx.settings.online.max_rows_per_call
        if len(entity_rows) > cap:
            raise QuotaExceeded(
                f"{len(entity_rows)} entity rows in one call; the limit is {cap}"
                " (setting online.max_rows_per_call)",
                limit="online.max_rows_per_call",
                value=cap,
            )
        refs = tuple(f if isinstance(f, str) else f"{f.name}:*" for f in features or ())
        key = (feature_service, refs or None, full_feature_names)
        plans = self._state.plans
        plan = plans.get(key)
        # Read before a rebuild, so that a change committed during it is caught next time.
        seen = self._changes().fingerprint(DEFINITION_ASSET_KINDS)
        if plan is None or (seen is not None and seen != plan.fingerprint):
            plan = self._read_plan(features, feature_service, full_feature_names)
            plan.fingerprint = seen
            plans[key] = plan
        allowed = self.__dict__.setdefault("_allowed_teams", set())
        for team in plan.teams:
            if team not in allowed:
                self._ctx.require(
                    Permission.READ_FEATURES, team, action="features.get_online_features"
                )
                allowed.add(team)
        t0 = time.perf_counter()
        try:
            return online.read(self.online_store, plan, entity_rows)
        finally:
            ONLINE_READS.observe(time.perf_counter() - t0)  # /metrics: online store latency

    def _read_plan(
        self, features: list[str] | None, feature_service: str | None, full: bool
    ) -> online.ReadPlan:
        from shipyard.features.retrieval import build_read_plan

        defs = self._defs()
        pairs = registry.resolve(defs, features, feature_service)
        plan = build_read_plan(defs, pairs, full, self._ctx.default_team)
        if feature_service is not None:
            plan.teams = sorted({*plan.teams, self._team(defs.services[feature_service])})
        return plan

    # -- push ----------------------------------------------------------------------------------

    def push(self, push_source: str, rows: Any, *, to: str = "online_and_offline") -> PushResult:
        """Records for the views of ``push_source``: online at once, appended offline.

        Args:
            push_source: the ``PushSource`` name the views read.
            rows: records (dicts), a pandas DataFrame or an Arrow table with the join keys,
                the timestamp and (some of) the features.
            to: ``online``, ``offline`` or ``online_and_offline``.

        Raises:
            NotFound: no view reads that push source.
            InvalidArgument: a missing key or timestamp, an unknown column, a wrong type.
        """
        if to not in PUSH_TARGETS:
            raise InvalidArgument(f"to must be one of {', '.join(PUSH_TARGETS)} (got {to!r})")
        defs = self._defs()
        views = [
            v
            for v in defs.views.values()
            if isinstance(v.source, PushSource) and v.source.name == push_source
        ]
        if not views:
            known = {v.source.name for v in defs.views.values() if isinstance(v.source, PushSource)}
            raise NotFound(
                f"no feature view reads push source '{push_source}'"
                + registry.suggest(push_source, known),
                push_source=push_source,
            )
        schema, required = push_schema(defs, views)
        table = to_push_table(rows, schema, required)
        teams = sorted({self._team(v) for v in views})
        for team in teams:
            self._ctx.require(Permission.WRITE, team, action="features.push")
        # The lake table first (the lake audits its own write): it is the record that a
        # later materialize would replay if the online write below failed.
        version = None
        if to != "online":
            version = self._lake.write(views[0].source_table, table, mode="append")
        written = 0
        if to != "offline":
            for view in views:
                written += self._push_online(defs, view, table)
        with self._ctx.mutation(
            "features.push", team=teams[0], asset=f"push_source:{push_source}"
        ) as m:
            m.details = {
                "rows": table.num_rows,
                "online_written": written,
                "table_version": version,
            }
        return PushResult(push_source, table.num_rows, written, version)

    def _push_online(self, defs: Definitions, view: FeatureView, table: pa.Table) -> int:
        keys = key_strings(table, defs.join_keys(view)).to_pylist()
        ts = micros(table.column(view.timestamp_field))
        values = ValueCodec(view.features).encode_batch(table)
        return self.online_store.write(online.namespace(view), zip(keys, ts, values, strict=True))


def _from_micros(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def _check_online_request(features: Any, feature_service: Any, entity_rows: Any) -> None:
    """Shapes an untyped caller (JSON over HTTP) can get wrong: InvalidArgument, not a crash."""
    if features is not None and not (
        isinstance(features, list | tuple)
        and all(isinstance(f, str) or hasattr(f, "name") for f in features)
    ):
        raise InvalidArgument("features must be a list of 'view:feature' references")
    if feature_service is not None and not isinstance(feature_service, str):
        raise InvalidArgument("feature_service must be a name")
    if not isinstance(entity_rows, list | tuple) or not all(
        isinstance(r, dict) for r in entity_rows
    ):
        raise InvalidArgument("entity_rows must be a list of objects")
