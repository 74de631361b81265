"""Catalog persistence on one SQLAlchemy connection (SQLite or PostgreSQL).

Every method takes the caller's connection so that the asset change, its
lineage and its audit record commit in one transaction.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.ids import new_id
from shipyard._internal.paging import Key, Keyset, keyset_page, team_filter
from shipyard.catalog.changes import announce
from shipyard.catalog.models import Asset, AssetRef, AssetVersion, LineageEdge
from shipyard.catalog.tables import (
    ASSETS_FTS,
    asset_tags,
    asset_versions,
    assets,
    lineage_edges,
)
from shipyard.errors import NotFound


def _tags(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            sa.select(asset_tags.c.asset_id, asset_tags.c.tag)
            .where(asset_tags.c.asset_id.in_(list(ids)))
            .order_by(asset_tags.c.tag)
        )
        for asset_id, tag in rows:
            out[asset_id].append(tag)
    return out


def _to_assets(conn: Connection, rows: Sequence[Any]) -> list[Asset]:
    tags = _tags(conn, [r.id for r in rows])
    return [
        Asset(
            id=r.id,
            kind=r.kind,
            name=r.name,
            version=r.version,
            owner=r.owner,
            description=r.description,
            tags=tags[r.id],
            properties=r.properties or {},
            created_by=r.created_by,
            created_at=as_utc(r.created_at),
            updated_at=as_utc(r.updated_at),
        )
        for r in rows
    ]


def _version(r: Any) -> AssetVersion:
    return AssetVersion(
        asset_id=r.asset_id,
        version=r.version,
        properties=r.properties or {},
        created_by=r.created_by,
        created_at=as_utc(r.created_at),
    )


def _text_match(conn: Connection, text: str) -> sa.ColumnElement[bool]:
    """``text`` anywhere in the name or description, case-insensitive (ASCII on SQLite).

    On SQLite with the trigram index (``catalog_0001``) the same ``LIKE`` pattern is
    asked of the FTS5 table, one column at a time (FTS5 answers each from the index; an
    ``OR`` of the two would scan): same rows, no scan of the assets. PostgreSQL's
    trigram GIN indexes serve the plain query.
    """
    pattern = f"%{text.lower()}%"
    if conn.dialect.name == "sqlite" and _has_fts(conn):
        fts = sa.table(ASSETS_FTS, sa.column("rowid"), sa.column("name"), sa.column("description"))
        rowids = sa.union(
            sa.select(fts.c.rowid).where(fts.c.name.like(pattern)),
            sa.select(fts.c.rowid).where(fts.c.description.like(pattern)),
        )
        return sa.literal_column("assets.rowid").in_(rowids)
    return sa.or_(
        sa.func.lower(assets.c.name).like(pattern),
        sa.func.lower(assets.c.description).like(pattern),
    )


_FTS_SEEN: weakref.WeakKeyDictionary[sa.Engine, bool] = weakref.WeakKeyDictionary()


def _has_fts(conn: Connection) -> bool:
    """Whether this SQLite database has the trigram index (asked once per engine)."""
    found = _FTS_SEEN.get(conn.engine)
    if found is None:
        query = sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n")
        found = conn.execute(query, {"n": ASSETS_FTS}).first() is not None
        _FTS_SEEN[conn.engine] = found
    return found


def _search_query(
    conn: Connection, *, text: str | None, kind: str | None, tag: str | None, owner: str | None
) -> sa.Select[Any]:
    q = sa.select(assets)
    if text:
        q = q.where(_text_match(conn, text))
    if kind:
        q = q.where(assets.c.kind == kind)
    if owner:
        q = q.where(assets.c.owner == owner)
    if tag:
        q = q.where(
            assets.c.id.in_(sa.select(asset_tags.c.asset_id).where(asset_tags.c.tag == tag))
        )
    return q


class SqlCatalogStore:
    """Assets, versions and lineage edges in the metadata database."""

    def find(self, conn: Connection, kind: str, name: str) -> Asset | None:
        row = conn.execute(
            sa.select(assets).where(assets.c.kind == kind, assets.c.name == name)
        ).first()
        return _to_assets(conn, [row])[0] if row else None

    def get(self, conn: Connection, kind: str, name: str) -> Asset:
        asset = self.find(conn, kind, name)
        if asset is None:
            raise NotFound(f"no {kind} named '{name}' in the catalog", kind=kind, name=name)
        return asset

    def get_by_id(self, conn: Connection, asset_id: str) -> Asset:
        row = conn.execute(sa.select(assets).where(assets.c.id == asset_id)).first()
        if row is None:
            raise NotFound(f"no asset with id {asset_id}", id=asset_id)
        return _to_assets(conn, [row])[0]

    def upsert(
        self,
        conn: Connection,
        *,
        kind: str,
        name: str,
        owner: str,
        created_by: str,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        properties: dict[str, Any] | None = None,
        new_version: bool = True,
        version: int | None = None,
    ) -> Asset:
        """Create the asset, or record a new version of it (``new_version``), or update it.

        ``version`` pins the version number (a Delta table's own version, say);
        otherwise versions count up from 1.
        """
        now = utcnow()
        current = self.find(conn, kind, name)
        props = properties or {}
        if current is None:
            asset_id = new_id()
            ver = version if version is not None else 1
            conn.execute(
                assets.insert().values(
                    id=asset_id,
                    kind=kind,
                    name=name,
                    version=ver,
                    owner=owner,
                    description=description or "",
                    properties=props,
                    created_by=created_by,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            asset_id = current.id
            if new_version:
                ver = version if version is not None else current.version + 1
            else:
                ver = current.version
            merged = {**current.properties, **props}
            values: dict[str, Any] = {"version": ver, "properties": merged, "updated_at": now}
            if description is not None:
                values["description"] = description
            conn.execute(assets.update().where(assets.c.id == asset_id).values(**values))
            props = merged
        if current is None or new_version:
            conn.execute(
                sa.delete(asset_versions).where(
                    asset_versions.c.asset_id == asset_id, asset_versions.c.version == ver
                )
            )
            conn.execute(
                asset_versions.insert().values(
                    asset_id=asset_id,
                    version=ver,
                    properties=props,
                    created_by=created_by,
                    created_at=now,
                )
            )
        if tags is not None:
            self.set_tags(conn, asset_id, tags)
        announce(conn, kind)
        return self.get_by_id(conn, asset_id)

    def set_tags(self, conn: Connection, asset_id: str, tags: Iterable[str]) -> None:
        conn.execute(sa.delete(asset_tags).where(asset_tags.c.asset_id == asset_id))
        unique = sorted(set(tags))
        if unique:
            conn.execute(asset_tags.insert(), [{"asset_id": asset_id, "tag": t} for t in unique])

    def update(
        self,
        conn: Connection,
        asset: Asset,
        *,
        description: str | None,
        owner: str | None,
        tags: Iterable[str] | None,
        properties: dict[str, Any] | None,
    ) -> Asset:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if description is not None:
            values["description"] = description
        if owner is not None:
            values["owner"] = owner
        if properties is not None:
            values["properties"] = {**asset.properties, **properties}
        conn.execute(assets.update().where(assets.c.id == asset.id).values(**values))
        if tags is not None:
            self.set_tags(conn, asset.id, tags)
        announce(conn, asset.kind)
        return self.get_by_id(conn, asset.id)

    def delete(self, conn: Connection, asset: Asset) -> None:
        conn.execute(sa.delete(assets).where(assets.c.id == asset.id))
        announce(conn, asset.kind)

    def versions(self, conn: Connection, asset: Asset) -> list[AssetVersion]:
        rows = conn.execute(
            sa.select(asset_versions)
            .where(asset_versions.c.asset_id == asset.id)
            .order_by(asset_versions.c.version)
        )
        return [_version(r) for r in rows]

    def search(
        self,
        conn: Connection,
        *,
        text: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Asset]:
        """Every matching asset by (kind, name), for internal scans (callers page with ``page``)."""
        q = _search_query(conn, text=text, kind=kind, tag=tag, owner=owner)
        q = q.order_by(assets.c.kind, assets.c.name).offset(offset).limit(limit)
        return _to_assets(conn, conn.execute(q).all())

    def page(
        self,
        conn: Connection,
        *,
        scope: str,
        teams: list[str] | None,
        limit: int,
        page_token: str | None,
        text: str | None = None,
        kind: str | None = None,
        tag: str | None = None,
        owner: str | None = None,
        name_prefix: str | None = None,
    ) -> tuple[list[Asset], str | None]:
        """One page of matching assets owned by ``teams`` (None: all), by (kind, name).

        ``scope`` names the list the token is for (a deployment token is no catalog token).
        """
        q = _search_query(conn, text=text, kind=kind, tag=tag, owner=owner)
        q = q.where(team_filter(assets.c.owner, teams))
        if name_prefix:
            q = q.where(assets.c.name.startswith(name_prefix, autoescape=True))
        filters = {"text": text, "kind": kind, "tag": tag, "owner": owner, "prefix": name_prefix}
        keyset = Keyset(scope, Key(assets.c.kind), Key(assets.c.name))
        rows, token = keyset_page(
            conn, q, keyset, limit=limit, page_token=page_token, filters=filters
        )
        return _to_assets(conn, rows), token

    def counts(self, conn: Connection, *, teams: list[str] | None) -> dict[str, dict[str, int]]:
        """Assets per owner team and kind, over ``teams`` (None: all): one grouped query."""
        q = (
            sa.select(assets.c.owner, assets.c.kind, sa.func.count())
            .where(team_filter(assets.c.owner, teams))
            .group_by(assets.c.owner, assets.c.kind)
        )
        out: dict[str, dict[str, int]] = {}
        for owner, kind, n in conn.execute(q):
            out.setdefault(owner, {})[kind] = int(n)
        return out

    def owner_teams(self, conn: Connection, *, teams: list[str] | None) -> list[str]:
        """The teams owning assets, over ``teams`` (None: all), sorted.

        A loose index scan of ``ix_assets_owner_kind`` (each step seeks the next owner
        past the last): one seek per team, where ``DISTINCT`` or the ``counts`` grouping
        read every asset (110k index entries, most of the catalog page's time).
        """
        lowest = sa.func.min(assets.c.owner).label("owner")
        seen = (
            sa.select(lowest)
            .where(team_filter(assets.c.owner, teams))
            .cte("owners", recursive=True)
        )
        after = (
            sa.select(sa.func.min(assets.c.owner))
            .where(assets.c.owner > seen.c.owner, team_filter(assets.c.owner, teams))
            .scalar_subquery()
        )
        seen = seen.union_all(sa.select(after).where(seen.c.owner.is_not(None)))
        q = sa.select(seen.c.owner).where(seen.c.owner.is_not(None))
        return [r[0] for r in conn.execute(q)]

    def version_page(
        self, conn: Connection, asset: Asset, *, limit: int, page_token: str | None
    ) -> tuple[list[AssetVersion], str | None]:
        """One page of an asset's versions, oldest first."""
        q = sa.select(asset_versions).where(asset_versions.c.asset_id == asset.id)
        keyset = Keyset("catalog.versions", Key(asset_versions.c.version))
        rows, token = keyset_page(
            conn, q, keyset, limit=limit, page_token=page_token, filters={"asset": asset.id}
        )
        return [_version(r) for r in rows], token

    # -- lineage --------------------------------------------------------------

    def add_edge(
        self,
        conn: Connection,
        source: Asset,
        target: Asset,
        *,
        operation: str,
        created_by: str,
        source_version: int | None = None,
        target_version: int | None = None,
    ) -> None:
        sv = source.version if source_version is None else source_version
        tv = target.version if target_version is None else target_version
        exists = conn.execute(
            sa.select(lineage_edges.c.id).where(
                lineage_edges.c.source_id == source.id,
                lineage_edges.c.source_version == sv,
                lineage_edges.c.target_id == target.id,
                lineage_edges.c.target_version == tv,
                lineage_edges.c.operation == operation,
            )
        ).first()
        if exists is None:
            conn.execute(
                lineage_edges.insert().values(
                    source_id=source.id,
                    source_version=sv,
                    target_id=target.id,
                    target_version=tv,
                    operation=operation,
                    created_by=created_by,
                    created_at=utcnow(),
                )
            )

    def edges(
        self, conn: Connection, asset_ids: Sequence[str], *, upstream: bool
    ) -> list[sa.Row[Any]]:
        """Edges whose target (upstream) or source (downstream) is one of ``asset_ids``."""
        col = lineage_edges.c.target_id if upstream else lineage_edges.c.source_id
        return list(
            conn.execute(
                sa.select(lineage_edges)
                .where(col.in_(list(asset_ids)))
                .order_by(lineage_edges.c.id)
            ).all()
        )

    def walk_level(
        self, conn: Connection, asset_ids: Sequence[str], *, upstream: bool
    ) -> list[sa.Row[Any]]:
        """``edges`` with the far end's ``far_owner``, ``far_kind`` and ``far_name`` (the
        source upstream, the target downstream): one query a level of a lineage walk
        instead of three (edges, owners, names)."""
        e = lineage_edges
        near, far = (e.c.target_id, e.c.source_id) if upstream else (e.c.source_id, e.c.target_id)
        q = (
            sa.select(
                e,
                assets.c.owner.label("far_owner"),
                assets.c.kind.label("far_kind"),
                assets.c.name.label("far_name"),
            )
            .join(assets, assets.c.id == far)
            .where(near.in_(list(asset_ids)))
            .order_by(e.c.id)
        )
        return list(conn.execute(q).all())

    def owners(self, conn: Connection, ids: Iterable[str]) -> dict[str, str]:
        """Asset id -> its stored owner team."""
        id_list = list(set(ids))
        if not id_list:
            return {}
        rows = conn.execute(sa.select(assets.c.id, assets.c.owner).where(assets.c.id.in_(id_list)))
        return {r.id: r.owner for r in rows}

    def refs(self, conn: Connection, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        id_list = list(set(ids))
        if not id_list:
            return {}
        rows = conn.execute(
            sa.select(assets.c.id, assets.c.kind, assets.c.name).where(assets.c.id.in_(id_list))
        )
        return {r.id: (r.kind, r.name) for r in rows}

    @staticmethod
    def edge_model(row: Any, refs: dict[str, tuple[str, str]]) -> LineageEdge:
        sk, sn = refs[row.source_id]
        tk, tn = refs[row.target_id]
        return LineageEdge(
            source=AssetRef(kind=sk, name=sn, version=row.source_version),
            target=AssetRef(kind=tk, name=tn, version=row.target_version),
            operation=row.operation,
            created_by=row.created_by,
            created_at=as_utc(row.created_at)
            if isinstance(row.created_at, datetime)
            else row.created_at,
        )
