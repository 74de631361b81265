"""``FeatureService``: definitions, point-in-time retrieval, materialization, online reads.

The only entry point for the SDK, the CLI and the HTTP API. Definitions live in
the catalog (versioned, audited, with lineage); the heavy work runs in DuckDB;
online values live behind the ``OnlineStore`` seam.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.service import Service
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.features import online, registry
from shipyard.features.backends.base import OnlineStore, create_online_store
from shipyard.features.materialize import materialize_view
from shipyard.features.models import FeatureView, MaterializeResult, OnlineFeatures, TrainingSet
from shipyard.features.offline import ViewQuery, check_source
from shipyard.features.offline import connect as duck_connect
from shipyard.features.registry import Definitions, Plan
from shipyard.features.retrieval import Retrieval
from shipyard.features.sources import LakeTables
from shipyard.features.tables import feature_materializations
from shipyard.security.models import Permission

#: How long an online read plan is trusted before the catalog is read again (other
#: processes' applies become visible within this; this process's own at once).
PLAN_RECHECK_SECONDS = 1.0


class FeatureService(Service):
    """The feature store of one project, acting for one principal."""

    # -- shared state ------------------------------------------------------------------

    def _shared(self) -> dict[str, Any]:
        return self._ctx.extras.setdefault("features", {"plans": {}})

    @property
    def online_store(self) -> OnlineStore:
        """The configured online store (built once per platform)."""
        shared = self._shared()
        store = shared.get("store")
        if store is None:
            store = create_online_store(self._ctx.settings)
            shared["store"] = store
            self._ctx.extras.setdefault("_closers", []).append(store.close)
        return store

    def _invalidate(self) -> None:
        self._shared()["plans"] = {}

    def _defs(self) -> Definitions:
        with self._ctx.db.connect() as conn:
            return registry.load(conn, self._ctx.catalog)

    @property
    def _lake(self) -> LakeTables:
        return LakeTables(self._ctx)

    def _team(self, obj: Any) -> str:
        return obj.owner or self._ctx.default_team

    # -- definitions ---------------------------------------------------------------------

    def plan(self, objects: Iterable[Any], *, prune: bool = False) -> Plan:
        """What ``apply(objects)`` would create, update or (with ``prune``) delete.

        Raises:
            InvalidArgument: a definition is malformed or refers to something undefined.
        """
        self._ctx.require(Permission.READ, self._ctx.default_team, action="features.plan")
        return self._plan(list(objects), prune=prune)[0]

    def _plan(self, objs: list[Any], *, prune: bool) -> tuple[Plan, Definitions, Definitions]:
        with self._ctx.db.connect() as conn:
            current = registry.load(conn, self._ctx.catalog)
            deployments = _deployments(conn)
        plan, after = registry.plan(current, objs, prune=prune, deployments=deployments)
        # A breaking plan leaves readers dangling by definition: it is refused (or forced)
        # on that ground, so only the definitions themselves are checked then.
        registry.check_consistent(after, readers=not plan.breaking)
        for change in plan.pending:
            if change.kind == "feature_view" and change.action != "delete":
                view = after.views[change.name]
                table = self._lake.open(view.source_table)
                check_source(view, table.schema, after.join_keys(view))
        return plan, current, after

    def apply(self, objects: Iterable[Any], *, force: bool = False, prune: bool = False) -> Plan:
        """Create or update definitions (and with ``prune``, delete undeclared ones), all or nothing.

        Args:
            objects: Entity, FeatureView, OnDemandFeatureView and FeatureService objects.
            force: apply even changes that break readers.
            prune: delete definitions that ``objects`` does not declare (what
                ``shipyard apply`` does for the project's definition files).

        Returns:
            The plan that was carried out.

        Raises:
            Conflict: a change breaks readers and ``force`` is not set (names who depends).
            InvalidArgument: a malformed definition, an undefined reference, or a source
                table without a declared column.
            NotFound: a source table does not exist.
        """
        plan, current, after = self._plan(list(objects), prune=prune)
        if plan.breaking and not force:
            lines = [f"{c.kind} '{c.name}' {'; '.join(c.breaking)}" for c in plan.breaking]
            raise Conflict(
                "refusing breaking change(s): " + " | ".join(lines) + " (use force=True)",
                breaking=[c.to_dict() for c in plan.breaking],
            )
        pending = plan.pending
        if not pending:
            return plan
        teams = []
        for c in pending:
            obj = (after if c.action != "delete" else current).by_kind(c.kind)[c.name]
            teams.append(self._team(obj))
        for team in sorted(set(teams))[1:]:
            self._ctx.require(Permission.WRITE, team, action="features.apply")
        with self._ctx.mutation("features.apply", team=sorted(set(teams))[0]) as m:
            for change in pending:
                self._write_change(m.conn, change, current, after)
            m.details = {"changes": [c.to_dict() for c in pending]}
            m.asset = f"{pending[0].kind}:{pending[0].name}" if len(pending) == 1 else None
        self._invalidate()
        return plan

    def _write_change(
        self, conn: Any, change: Any, current: Definitions, after: Definitions
    ) -> None:
        cat = self._ctx.catalog
        if change.action == "delete":
            asset = cat.find(conn, change.kind, change.name)
            if asset is not None:
                cat.delete(conn, asset)
            return
        obj = after.by_kind(change.kind)[change.name]
        asset = cat.upsert(
            conn,
            kind=obj.kind,
            name=obj.name,
            owner=self._team(obj),
            created_by=self.principal.name,
            description=getattr(obj, "description", "") or "",
            tags=obj.tags,
            properties={"spec": obj.to_spec()},
            new_version=True,
        )
        for source in _upstream(obj):
            src = cat.find(conn, *source)
            if src is not None:
                cat.add_edge(conn, src, asset, operation="defines", created_by=self.principal.name)

    def list_definitions(self, kind: str | None = None) -> list[Any]:
        """Every definition (of ``kind``: entity, feature_view, on_demand_feature_view,
        feature_service), in creation order."""
        self._ctx.require(Permission.READ, self._ctx.default_team, action="features.list")
        defs = self._defs()
        if kind is None:
            return defs.all()
        if kind not in registry.KIND_ORDER:
            raise InvalidArgument(f"kind must be one of {', '.join(registry.KIND_ORDER)}")
        return list(defs.by_kind(kind).values())

    def get_definition(self, kind: str, name: str) -> Any:
        """One definition. Raises: NotFound."""
        for d in self.list_definitions(kind):
            if d.name == name:
                return d
        raise NotFound(f"no {kind} named '{name}'", kind=kind, name=name)

    # -- offline ---------------------------------------------------------------------------

    def _entity_input(self, entity_df: Any) -> Any:
        if not isinstance(entity_df, str):
            return entity_df
        text = entity_df.strip()
        if " " not in text and "\n" not in text:
            return self._lake.read(text)
        try:
            from shipyard.lake.service import LakeService
        except ImportError:
            raise InvalidArgument("SQL entity rows need the lake service") from None
        return LakeService(self._ctx).sql(text)

    def _retrieval(self, defs: Definitions, pairs: list[tuple[str, str]], full: bool) -> Retrieval:
        r = Retrieval(
            defs,
            pairs,
            full_feature_names=full,
            lake=self._lake,
            default_team=self._ctx.default_team,
        )
        for team in sorted(r.teams):
            self._ctx.require(Permission.READ, team, action="features.get_historical_features")
        return r

    def get_historical_features(
        self,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
    ) -> pd.DataFrame:
        """Point-in-time correct feature values for each entity row (see ``offline``).

        Args:
            entity_df: pandas, Arrow, a lake table name, or SQL over lake tables; holds the
                join keys and a timestamp column (``event_timestamp`` by default).
            features: ``"view:feature"`` refs (or ``"view:*"``); or ``feature_service``.
            full_feature_names: name columns ``view__feature``.
            filter_by_created_timestamp: only rows created at or before the entity time count.

        Returns:
            The entity rows in input order, one output row per input row, plus the features.

        Raises:
            NotFound: an unknown feature, view or service (with near names).
            InvalidArgument: a missing join key or timestamp column, mixed time zones.
        """
        table, _ = self._historical(
            entity_df,
            features,
            feature_service,
            full_feature_names,
            filter_by_created_timestamp,
            timestamp_column,
        )
        return table.to_pandas()

    def _historical(
        self,
        entity_df: Any,
        features: list[str] | None,
        feature_service: str | None,
        full: bool,
        filter_created: bool,
        timestamp_column: str | None,
    ) -> tuple[pa.Table, Retrieval]:
        defs = self._defs()
        pairs = registry.resolve(defs, features, feature_service)
        r = self._retrieval(defs, pairs, full)
        data = self._entity_input(entity_df)
        con = duck_connect(self._ctx.settings.home_dir / "tmp" / "duckdb")
        try:
            table = r.run(con, data, timestamp_column, filter_created)
        finally:
            con.close()
        return table, r

    def create_training_set(
        self,
        name: str,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
        owner: str | None = None,
        description: str = "",
    ) -> TrainingSet:
        """Retrieve features like ``get_historical_features`` and save them as ``datasets.<name>``.

        The catalog gets ``training_set:<name>@<version>`` with lineage from each feature
        view and each source table at the exact version read.

        Raises:
            as ``get_historical_features``; PermissionDenied without write on ``owner``.
        """
        if not name.replace("_", "").isalnum():
            raise InvalidArgument(f"training set name {name!r} must be letters, digits and '_'")
        team = owner or self._ctx.default_team
        self._ctx.require(Permission.WRITE, team, action="features.create_training_set")
        table, r = self._historical(
            entity_df,
            features,
            feature_service,
            full_feature_names,
            filter_by_created_timestamp,
            timestamp_column,
        )
        dataset = f"datasets.{name}"
        table_version = self._lake.write(
            dataset,
            table,
            owner=team,
            operation="training_set",
            sources=[f"table:{t}@{v}" for t, v in r.sources.items() if self._table_known(t)],
        )
        props = {
            "table": dataset,
            "table_version": table_version,
            "num_rows": table.num_rows,
            "features": r.out_names,
            "feature_refs": [f"{v}:{f}" for v, f in r.pairs],
            "feature_service": feature_service,
            "sources": r.sources,
            "views": {v: r.defs.versions.get(("feature_view", v)) for v in r.view_names},
            "options": {
                "full_feature_names": full_feature_names,
                "filter_by_created_timestamp": filter_by_created_timestamp,
            },
        }
        with self._ctx.mutation(
            "features.create_training_set", team=team, asset=f"training_set:{name}"
        ) as m:
            asset = self._ctx.catalog.upsert(
                m.conn,
                kind="training_set",
                name=name,
                owner=team,
                created_by=self.principal.name,
                description=description,
                properties=props,
            )
            self._training_lineage(m.conn, asset, r, dataset, table_version)
            m.asset = f"training_set:{name}@{asset.version}"
            m.details = {"rows": table.num_rows, "table_version": table_version}
        return self._training_set(name, asset.version, props)

    def _table_known(self, name: str) -> bool:
        with self._ctx.db.connect() as conn:
            return self._ctx.catalog.find(conn, "table", name) is not None

    def _training_lineage(
        self, conn: Any, asset: Any, r: Retrieval, dataset: str, table_version: int
    ) -> None:
        cat, who = self._ctx.catalog, self.principal.name
        for view in r.view_names:
            kind = "feature_view" if view in r.defs.views else "on_demand_feature_view"
            src = cat.find(conn, kind, view)
            if src is not None:
                cat.add_edge(conn, src, asset, operation="training_set", created_by=who)
        for table_name, version in r.sources.items():
            src = cat.find(conn, "table", table_name)
            if src is not None:
                cat.add_edge(
                    conn,
                    src,
                    asset,
                    operation="training_set",
                    created_by=who,
                    source_version=version,
                )
        out = cat.find(conn, "table", dataset)
        if out is not None:
            cat.add_edge(
                conn, asset, out, operation="write", created_by=who, target_version=table_version
            )

    def _training_set(self, name: str, version: int, props: dict[str, Any]) -> TrainingSet:
        return TrainingSet(
            name=name,
            table=props["table"],
            version=version,
            table_version=props["table_version"],
            num_rows=props["num_rows"],
            features=list(props["features"]),
            sources=dict(props["sources"]),
            _lake_reader=self._lake.read,
        )

    def get_training_set(self, name: str, version: int | None = None) -> TrainingSet:
        """A saved training set (the newest version by default). Raises: NotFound."""
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, "training_set", name)
            self._ctx.require(Permission.READ, asset.owner, action="features.get_training_set")
            props = asset.properties
            if version is not None and version != asset.version:
                found = [v for v in self._ctx.catalog.versions(conn, asset) if v.version == version]
                if not found:
                    raise NotFound(f"training set '{name}' has no version {version}")
                props = found[0].properties
        return self._training_set(name, version or asset.version, props)

    # -- materialize -------------------------------------------------------------------------

    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[MaterializeResult]:
        """Write the latest value per entity of online views into the online store.

        Without ``start`` each view continues from its watermark (the newest event
        time it materialized); a stored value is never replaced by an older one.

        Raises:
            NotFound: an unknown view. InvalidArgument: the view is not online.
        """
        defs = self._defs()
        names = (
            list(views) if views is not None else [v.name for v in defs.views.values() if v.online]
        )
        results = []
        for name in names:
            view = defs.views.get(name)
            if view is None:
                raise NotFound(
                    f"no feature view named '{name}'" + registry._suggest(name, defs.views)
                )
            if not view.online:
                raise InvalidArgument(f"feature view '{name}' is not online")
            results.append(self._materialize_one(defs, view, start, end))
        return results

    def _materialize_one(
        self, defs: Definitions, view: FeatureView, start: datetime | None, end: datetime | None
    ) -> MaterializeResult:
        team = self._team(view)
        self._ctx.require(Permission.WRITE, team, action="features.materialize")
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
        view = self.get_definition("feature_view", name)
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
        key = (feature_service, tuple(features) if features else None, full_feature_names)
        plans = self._shared()["plans"]
        plan = plans.get(key)
        if plan is None or time.monotonic() - plan.loaded_at > PLAN_RECHECK_SECONDS:
            plan = self._read_plan(features, feature_service, full_feature_names)
            plans[key] = plan
        allowed = self.__dict__.setdefault("_allowed_teams", set())
        for team in plan.teams:
            if team not in allowed:
                self._ctx.require(
                    Permission.READ_FEATURES, team, action="features.get_online_features"
                )
                allowed.add(team)
        return online.read(self.online_store, plan, entity_rows)

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


def _upstream(obj: Any) -> list[tuple[str, str]]:
    if isinstance(obj, FeatureView):
        return [("table", obj.source_table), *[("entity", e) for e in obj.entities]]
    if obj.kind == "feature_service":
        return [("feature_view", r.partition(":")[0]) for r in obj.refs()] + [
            ("on_demand_feature_view", r.partition(":")[0]) for r in obj.refs()
        ]
    if obj.kind == "on_demand_feature_view":
        return [("feature_view", i.partition(":")[0]) for i in obj.inputs if ":" in i]
    return []


def _deployments(conn: Any) -> dict[str, list[str]]:
    """Feature service name -> deployments (catalog assets) that serve with it."""
    from shipyard.catalog.tables import assets

    out: dict[str, list[str]] = {}
    for name, props in conn.execute(
        sa.select(assets.c.name, assets.c.properties).where(assets.c.kind == "deployment")
    ):
        svc = (props or {}).get("feature_service")
        if svc:
            out.setdefault(svc, []).append(f"deployment:{name}")
    return out


def _from_micros(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
