"""``FeatureService``: definitions, point-in-time retrieval, materialization, online reads.

The only entry point for the SDK, the CLI and the HTTP API. Definitions live in
the catalog (versioned, audited, with lineage); the heavy work runs in DuckDB;
online values live behind the ``OnlineStore`` seam.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from shipyard._internal.paging import Page, listing_teams, page_in_memory, resolve_limit
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.features import registry
from shipyard.features._base import FeatureServiceBase
from shipyard.features.models import FeatureView, PushSource
from shipyard.features.offline import check_source
from shipyard.features.registry import Definitions, Plan
from shipyard.features.service_offline import OfflineMixin
from shipyard.features.service_online import OnlineMixin
from shipyard.security.models import Permission


class FeatureService(OfflineMixin, OnlineMixin, FeatureServiceBase):
    """The feature store of one project, acting for one principal."""

    # -- definitions ---------------------------------------------------------------------

    def plan(self, objects: Iterable[Any], *, prune: bool = False) -> Plan:
        """What ``apply(objects)`` would create, update or (with ``prune``) delete.

        A view whose source table does not exist yet (a project whose lake is not
        built) is planned with a note; ``apply`` refuses it.

        Raises:
            InvalidArgument: a definition is malformed or refers to something undefined.
        """
        self._ctx.require(Permission.READ, self._ctx.default_team, action="features.plan")
        return self._plan(list(objects), prune=prune, preview=True)[0]

    def _plan(
        self, objs: list[Any], *, prune: bool, preview: bool = False
    ) -> tuple[Plan, Definitions, Definitions]:
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
                if isinstance(view.source, PushSource) and not self._lake.exists(view.source_table):
                    continue  # the first push creates the table
                if preview and not self._lake.exists(view.source_table):
                    change.diff.append(f"source table {view.source_table} is not built yet")
                    continue
                table = self._lake.open(view.source_table)
                check_source(view, table.schema, after.join_keys(view))
        return plan, current, after

    def apply(self, objects: Iterable[Any], *, force: bool = False, prune: bool = False) -> Plan:
        """Create or update definitions (and with ``prune``, delete undeclared ones), all or nothing.

        Args:
            objects: Entity, FeatureView, OnDemandFeatureView and FeatureService objects.
            force: apply even changes that break readers.
            prune: delete definitions that ``objects`` does not declare (what
                ``shipyard features apply`` does for the project's definition files).

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
        owners = self._authorize_owners(pending, current, after)
        with self._ctx.mutation("features.apply", team=sorted(set(owners.values()))[0]) as m:
            for change in pending:
                self._write_change(m.conn, change, owners[(change.kind, change.name)], after)
            m.details = {"changes": [c.to_dict() for c in pending]}
            m.asset = f"{pending[0].kind}:{pending[0].name}" if len(pending) == 1 else None
            if m.asset is None:  # lineage of a job that applied several (AccessListener)
                m.also = [f"{c.kind}:{c.name}" for c in pending if c.action != "delete"]
        self._invalidate()
        return plan

    def _authorize_owners(
        self, pending: list[Any], current: Definitions, after: Definitions
    ) -> dict[tuple[str, str], str]:
        """The owner of each changed definition after the apply, once the caller may write it.

        An existing definition is authorized against its STORED owner (the owner a
        request names cannot let a caller into another team's definition); naming a
        new owner is a transfer and needs WRITE on both teams. A new definition needs
        WRITE on the owner it names.
        """
        owners: dict[tuple[str, str], str] = {}
        for c in pending:
            old = current.by_kind(c.kind).get(c.name)
            new = after.by_kind(c.kind).get(c.name) if c.action != "delete" else None
            owners[(c.kind, c.name)] = self._ctx.require_owner(
                old.owner if old is not None else None,
                (new.owner or None) if new is not None else None,
                action="features.apply",
                asset=f"{c.kind}:{c.name}",
            )
        return owners

    def _write_change(self, conn: Any, change: Any, owner: str, after: Definitions) -> None:
        cat = self._ctx.catalog
        if change.action == "delete":
            asset = cat.find(conn, change.kind, change.name)
            if asset is not None:
                cat.delete(conn, asset)
            return
        obj = after.by_kind(change.kind)[change.name]
        existing = cat.find(conn, obj.kind, obj.name)
        if existing is not None and existing.owner != owner:  # a transfer, authorized above
            cat.update(conn, existing, description=None, owner=owner, tags=None, properties=None)
        asset = cat.upsert(
            conn,
            kind=obj.kind,
            name=obj.name,
            owner=owner,
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

    def list_definitions(
        self,
        kind: str | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Any]:
        """Definitions the caller may read (of ``kind``: entity, feature_view,
        on_demand_feature_view, feature_service), by kind then name."""
        teams = listing_teams(self._ctx, action="features.list")
        size = resolve_limit(self._ctx.settings, limit)
        shown = [d for d in self._of_kind(kind) if teams is None or d.owner in teams]
        return page_in_memory(
            shown,
            lambda d: f"{registry.KIND_ORDER.index(d.kind):02d}:{d.name}",
            scope="features.definitions",
            limit=size,
            page_token=page_token,
            filters={"kind": kind},
        )

    def _of_kind(self, kind: str | None) -> list[Any]:
        defs = self._defs()
        if kind is None:
            return list(defs.all())
        if kind not in registry.KIND_ORDER:
            raise InvalidArgument(f"kind must be one of {', '.join(registry.KIND_ORDER)}")
        return list(defs.by_kind(kind).values())

    def get_definition(self, kind: str, name: str) -> Any:
        """One definition. Raises: NotFound, PermissionDenied."""
        for d in self._of_kind(kind):
            if d.name == name:
                self._ctx.require(
                    Permission.READ, d.owner or self._ctx.default_team, action="features.get"
                )
                return d
        raise NotFound(f"no {kind} named '{name}'", kind=kind, name=name)


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
