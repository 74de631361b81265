"""The catalog: search assets, show them, walk their lineage."""

from __future__ import annotations

from typing import Any

from shipyard._internal.paging import Page, listing_teams, resolve_limit
from shipyard.catalog.context import Service
from shipyard.catalog.models import (
    KNOWN_KINDS,
    MAX_LABEL,
    Asset,
    AssetRef,
    AssetVersion,
    LineageGraph,
)
from shipyard.errors import InvalidArgument
from shipyard.security.models import Permission

MAX_DEPTH = 25


def _check_labels(*, owner: str | None, tags: list[str] | None) -> None:
    if owner is not None and not 1 <= len(owner) <= MAX_LABEL:
        raise InvalidArgument(f"an owner team is 1 to {MAX_LABEL} characters", owner=owner[:100])
    for tag in tags or []:
        if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_LABEL:
            raise InvalidArgument(f"a tag is 1 to {MAX_LABEL} characters", tag=str(tag)[:100])


class CatalogService(Service):
    """Every table, feature view, run, model and deployment is an asset here."""

    def search(
        self,
        text: str | None = None,
        *,
        kind: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Asset]:
        """Assets the caller may read, by kind and name (``text`` in the name or description).

        Raises:
            InvalidArgument: an unknown kind, a bad limit or page token.
            PermissionDenied: no read on ``owner``, or on any team.
        """
        teams = listing_teams(self._ctx, action="catalog.search", owner=owner)
        size = resolve_limit(self._ctx.settings, limit)
        with self._ctx.db.connect() as conn:
            items, token = self._ctx.catalog.page(
                conn,
                scope="catalog.search",
                teams=teams,
                limit=size,
                page_token=page_token,
                text=text,
                kind=kind,
                tag=tag,
                owner=owner,
            )
        if not items and kind is not None and kind not in KNOWN_KINDS and not page_token:
            # An unknown kind is most likely a typo: say which kinds exist.
            raise InvalidArgument(
                f"no assets of kind '{kind}'; the platform's kinds are {', '.join(KNOWN_KINDS)}",
                kind=kind,
            )
        return Page(items=items, next_page_token=token)

    def counts(self) -> dict[str, dict[str, int]]:
        """How many assets of each kind every team the caller may read owns.

        ``{team: {kind: count}}``: the scorecard of the web UI's home page.

        Raises:
            PermissionDenied: the caller may read no team.
        """
        teams = listing_teams(self._ctx, action="catalog.counts")
        with self._ctx.db.connect() as conn:
            return self._ctx.catalog.counts(conn, teams=teams)

    def teams(self) -> list[str]:
        """The teams owning assets among those the caller may read, sorted (the
        catalog's team filter): one index seek a team, not a count of every asset.

        Raises:
            PermissionDenied: the caller may read no team.
        """
        teams = listing_teams(self._ctx, action="catalog.counts")
        with self._ctx.db.connect() as conn:
            return self._ctx.catalog.owner_teams(conn, teams=teams)

    def get_asset(self, ref: str | AssetRef) -> Asset:
        r = ref if isinstance(ref, AssetRef) else AssetRef.parse(ref)
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.get(conn, r.kind, r.name)
        self._ctx.require(Permission.READ, asset.owner, action="catalog.get", asset=str(r))
        return asset

    def list_versions(
        self, ref: str | AssetRef, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[AssetVersion]:
        """The asset's versions, oldest first."""
        asset = self.get_asset(ref)
        size = resolve_limit(self._ctx.settings, limit)
        with self._ctx.db.connect() as conn:
            items, token = self._ctx.catalog.version_page(
                conn, asset, limit=size, page_token=page_token
            )
        return Page(items=items, next_page_token=token)

    def register_asset(
        self,
        ref: str | AssetRef,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
        sources: list[str] | None = None,
        operation: str = "derived",
    ) -> Asset:
        """Register an external asset (or a new version of one) with its upstream assets."""
        r = ref if isinstance(ref, AssetRef) else AssetRef.parse(ref)
        team = owner or self._ctx.default_team
        _check_labels(owner=team, tags=tags)
        with self._ctx.mutation("catalog.register", team=team, asset=str(r)) as m:
            existing = self._ctx.catalog.find(m.conn, r.kind, r.name)
            if existing is not None and existing.owner != team:
                self._ctx.require(Permission.WRITE, existing.owner, action="catalog.register")
            asset = self._ctx.catalog.upsert(
                m.conn,
                kind=r.kind,
                name=r.name,
                owner=team,
                created_by=self.principal.name,
                description=description,
                tags=tags,
                properties=properties,
                version=r.version,
            )
            for src in sources or []:
                s = AssetRef.parse(src)
                upstream = self._ctx.catalog.get(m.conn, s.kind, s.name)
                self._ctx.catalog.add_edge(
                    m.conn,
                    upstream,
                    asset,
                    operation=operation,
                    created_by=self.principal.name,
                    source_version=s.version,
                )
            m.asset = str(asset.ref)
            return asset

    def update_asset(
        self,
        ref: str | AssetRef,
        *,
        description: str | None = None,
        owner: str | None = None,
        tags: list[str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> Asset:
        r = ref if isinstance(ref, AssetRef) else AssetRef.parse(ref)
        _check_labels(owner=owner, tags=tags)
        with self._ctx.db.connect() as conn:
            current = self._ctx.catalog.get(conn, r.kind, r.name)
        with self._ctx.mutation("catalog.update", team=current.owner, asset=str(r)) as m:
            if owner is not None and owner != current.owner:
                self._ctx.require(Permission.WRITE, owner, action="catalog.update", asset=str(r))
            m.details = {
                k: v
                for k, v in {"description": description, "owner": owner, "tags": tags}.items()
                if v is not None
            }
            return self._ctx.catalog.update(
                m.conn,
                current,
                description=description,
                owner=owner,
                tags=tags,
                properties=properties,
            )

    def _walk(
        self, ref: str | AssetRef, direction: str, depth: int
    ) -> tuple[Asset, list[Any], dict[str, tuple[str, str]]]:
        """Breadth-first walk: the root, the edge rows the caller may read, and
        ``{asset id: (kind, name)}`` of every asset reached."""
        if direction not in ("upstream", "downstream"):
            raise InvalidArgument("direction is 'upstream' or 'downstream'", direction=direction)
        if not 1 <= depth <= MAX_DEPTH:
            raise InvalidArgument(f"depth must be between 1 and {MAX_DEPTH}", depth=depth)
        r = ref if isinstance(ref, AssetRef) else AssetRef.parse(ref)
        root = self.get_asset(r)
        upstream = direction == "upstream"
        refs = {root.id: (root.kind, root.name)}
        readable: dict[str, bool] = {}  # owner team -> may the caller read it
        with self._ctx.db.connect() as conn:
            frontier = [root.id]
            rows: list[Any] = []
            for _ in range(depth):
                nxt: list[str] = []
                for e in self._ctx.catalog.walk_level(conn, frontier, upstream=upstream):
                    ok = readable.get(e.far_owner)
                    if ok is None:
                        ok = readable[e.far_owner] = self.principal.can(
                            Permission.READ, e.far_owner
                        )
                    if not ok:  # the walk stops at another team's asset
                        continue
                    rows.append(e)
                    far = e.source_id if upstream else e.target_id
                    if far not in refs:
                        refs[far] = (e.far_kind, e.far_name)
                        nxt.append(far)
                frontier = nxt
                if not frontier:
                    break
        return root, rows, refs

    def lineage(
        self, ref: str | AssetRef, *, direction: str = "upstream", depth: int = 5
    ) -> LineageGraph:
        """Walk lineage edges breadth-first, ``depth`` hops up or down."""
        root, rows, refs = self._walk(ref, direction, depth)
        edges = [self._ctx.catalog.edge_model(e, refs) for e in rows]
        nodes = {str(root.ref): root.ref}
        for e in edges:
            for n in (e.source, e.target):
                nodes.setdefault(str(n), n)
        return LineageGraph(
            root=root.ref, direction=direction, nodes=list(nodes.values()), edges=edges
        )

    def lineage_keys(
        self, ref: str | AssetRef, *, direction: str = "upstream", depth: int = 5
    ) -> tuple[str, list[tuple[str, str]], list[tuple[str, str, str]]]:
        """The assets of ``lineage`` without versions or models, for the web UI's graph:
        ``(root "kind:name", [(kind, name)], [(source "kind:name", target, operation)])``,
        each asset and each asset pair once (a 5,000-node graph builds no 10,000
        validated edge models). Same walk, same permission checks as ``lineage``."""
        root, rows, refs = self._walk(ref, direction, depth)
        keys = {i: f"{k}:{n}" for i, (k, n) in refs.items()}
        # the last edge of a pair names it, as in the graph's edges before
        edges = {(keys[e.source_id], keys[e.target_id]): e.operation for e in rows}
        root_key = keys[root.id]
        return root_key, list(refs.values()), [(s, t, op) for (s, t), op in edges.items()]
