"""Registry persistence helpers on one connection."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc
from shipyard.errors import NotFound
from shipyard.registry.models import (
    AliasEvent,
    ModelVersion,
    PromotionRequest,
    PromotionStatus,
    RegisteredModel,
)
from shipyard.registry.tables import (
    alias_history,
    aliases,
    model_versions,
    promotions,
    registered_models,
)


def model_row(conn: Connection, name: str) -> Any:
    row = conn.execute(sa.select(registered_models).where(registered_models.c.name == name)).first()
    if row is None:
        raise NotFound(f"no registered model named '{name}'", name=name)
    return row


def alias_map(conn: Connection, names: list[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {n: {} for n in names}
    if names:
        for r in conn.execute(sa.select(aliases).where(aliases.c.name.in_(names))):
            out[r.name][r.alias] = r.version
    return out


def to_models(conn: Connection, rows: list[Any]) -> list[RegisteredModel]:
    names = [r.name for r in rows]
    amap = alias_map(conn, names)
    latest: dict[str, int] = {}
    if names:
        q = (
            sa.select(model_versions.c.name, sa.func.max(model_versions.c.version))
            .where(model_versions.c.name.in_(names))
            .group_by(model_versions.c.name)
        )
        latest = {n: v for n, v in conn.execute(q)}
    return [
        RegisteredModel(
            name=r.name,
            owner=r.owner,
            description=r.description,
            tags=dict(r.tags or {}),
            aliases=amap[r.name],
            latest_version=latest.get(r.name),
            created_by=r.created_by,
            created_at=as_utc(r.created_at),
            updated_at=as_utc(r.updated_at),
        )
        for r in rows
    ]


def to_versions(conn: Connection, rows: list[Any]) -> list[ModelVersion]:
    amap = alias_map(conn, sorted({r.name for r in rows}))
    return [
        ModelVersion(
            name=r.name,
            version=r.version,
            source=r.source,
            storage_location=r.storage_location,
            run_id=r.run_id,
            status=r.status,
            description=r.description,
            flavor=r.flavor,
            signature=r.signature,
            tags=dict(r.tags or {}),
            aliases=sorted(a for a, v in amap[r.name].items() if v == r.version),
            created_by=r.created_by,
            created_at=as_utc(r.created_at),
            updated_at=as_utc(r.updated_at),
        )
        for r in rows
    ]


def latest_version_rows(conn: Connection, names: list[str]) -> list[Any]:
    """The newest version row of each of ``names`` that has one, with its model's ``owner``."""
    if not names:
        return []
    newest = (
        sa.select(model_versions.c.name, sa.func.max(model_versions.c.version).label("version"))
        .where(model_versions.c.name.in_(names))
        .group_by(model_versions.c.name)
        .subquery()
    )
    q = (
        sa.select(model_versions, registered_models.c.owner)
        .join(
            newest,
            sa.and_(
                newest.c.name == model_versions.c.name,
                newest.c.version == model_versions.c.version,
            ),
        )
        .join(registered_models, registered_models.c.name == model_versions.c.name)
    )
    return list(conn.execute(q))


def version_row(conn: Connection, name: str, version: int) -> Any:
    row = conn.execute(
        sa.select(model_versions).where(
            model_versions.c.name == name, model_versions.c.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"model '{name}' has no version {version}", name=name, version=version)
    return row


def alias_version(conn: Connection, name: str, alias: str) -> int | None:
    return conn.execute(
        sa.select(aliases.c.version).where(aliases.c.name == name, aliases.c.alias == alias)
    ).scalar()


def to_request(r: Any) -> PromotionRequest:
    return PromotionRequest(
        id=r.id,
        name=r.name,
        alias=r.alias,
        version=r.version,
        status=PromotionStatus(r.status),
        requested_by=r.requested_by,
        requested_at=as_utc(r.requested_at),
        decided_by=r.decided_by,
        decided_at=as_utc(r.decided_at) if r.decided_at else None,
        comment=r.comment,
    )


def request_row(conn: Connection, request_id: str) -> Any:
    row = conn.execute(sa.select(promotions).where(promotions.c.id == request_id)).first()
    if row is None:
        raise NotFound(f"no promotion request '{request_id}'", request_id=request_id)
    return row


def to_event(r: Any) -> AliasEvent:
    return AliasEvent(
        name=r.name,
        alias=r.alias,
        version=r.version,
        previous_version=r.previous_version,
        action=r.action,
        principal=r.principal,
        approved_by=r.approved_by,
        request_id=r.request_id,
        at=as_utc(r.at),
    )


def history_rows(conn: Connection, name: str, alias: str | None) -> list[AliasEvent]:
    q = sa.select(alias_history).where(alias_history.c.name == name)
    if alias is not None:
        q = q.where(alias_history.c.alias == alias)
    return [to_event(r) for r in conn.execute(q.order_by(alias_history.c.id))]
