"""Registry persistence helpers on one connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc
from shipyard.errors import AlreadyExists, NotFound
from shipyard.registry.models import (
    AliasEvent,
    ModelVersion,
    PromotionRequest,
    PromotionStatus,
    RegisteredModel,
)
from shipyard.registry.tables import (
    alias_history,
    alias_policies,
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


# -- writes and lookups of RegistryService (its SQL lives here) ---------------------------


def find_model_owner(conn: Connection, name: str) -> str | None:
    """The owner team of registered model ``name``, or ``None`` if there is none."""
    return conn.execute(
        sa.select(registered_models.c.owner).where(registered_models.c.name == name)
    ).scalar()


def insert_model(
    conn: Connection,
    *,
    name: str,
    owner: str,
    description: str,
    tags: dict[str, str],
    created_by: str,
    now: datetime,
) -> None:
    """Raises AlreadyExists when a model of that name is registered."""
    if find_model_owner(conn, name) is not None:
        raise AlreadyExists(f"registered model '{name}' already exists", name=name)
    conn.execute(
        registered_models.insert().values(
            name=name,
            owner=owner,
            description=description,
            tags=tags,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
    )


def update_model(conn: Connection, name: str, values: dict[str, Any]) -> None:
    conn.execute(
        registered_models.update().where(registered_models.c.name == name).values(**values)
    )


def delete_model(conn: Connection, name: str) -> None:
    """Delete the model with its versions and aliases (alias history is kept)."""
    conn.execute(sa.delete(aliases).where(aliases.c.name == name))
    conn.execute(sa.delete(model_versions).where(model_versions.c.name == name))
    conn.execute(sa.delete(registered_models).where(registered_models.c.name == name))


def latest_version(conn: Connection, name: str) -> int | None:
    """The highest version number of ``name``, or ``None`` without versions."""
    return conn.execute(
        sa.select(sa.func.max(model_versions.c.version)).where(model_versions.c.name == name)
    ).scalar()


def insert_version(conn: Connection, **values: Any) -> None:
    conn.execute(model_versions.insert().values(**values))


def update_version(conn: Connection, name: str, version: int, values: dict[str, Any]) -> None:
    conn.execute(
        model_versions.update()
        .where(model_versions.c.name == name, model_versions.c.version == version)
        .values(**values)
    )


def aliases_of(conn: Connection, name: str, version: int) -> list[str]:
    """The aliases of ``name`` that point at ``version``."""
    return list(
        conn.execute(
            sa.select(aliases.c.alias).where(aliases.c.name == name, aliases.c.version == version)
        ).scalars()
    )


def delete_version(conn: Connection, name: str, version: int) -> None:
    conn.execute(
        sa.delete(model_versions).where(
            model_versions.c.name == name, model_versions.c.version == version
        )
    )


# -- promotion: alias policies, requests and alias moves ----------------------------------


def find_alias_policy(conn: Connection, name: str, alias: str) -> Any | None:
    """The policy row for ``alias`` of ``name``: its own, else the ``*`` one, else None."""
    rows = {
        r.name: r
        for r in conn.execute(
            sa.select(alias_policies).where(
                alias_policies.c.alias == alias, alias_policies.c.name.in_([name, "*"])
            )
        )
    }
    return rows.get(name) or rows.get("*")


def replace_alias_policy(conn: Connection, **values: Any) -> None:
    conn.execute(
        sa.delete(alias_policies).where(
            alias_policies.c.name == values["name"], alias_policies.c.alias == values["alias"]
        )
    )
    conn.execute(alias_policies.insert().values(**values))


def run_metric(conn: Connection, run_id: str, key: str) -> float | None:
    """The latest value of metric ``key`` of run ``run_id`` (None if unlogged or NaN)."""
    from shipyard.tracking.tables import latest_metrics

    row = conn.execute(
        sa.select(latest_metrics.c.value, latest_metrics.c.is_nan).where(
            latest_metrics.c.run_id == run_id, latest_metrics.c.key == key
        )
    ).first()
    return None if row is None or row.is_nan else float(row.value)


def find_pending_request(conn: Connection, name: str, alias: str, version: int) -> Any | None:
    return conn.execute(
        sa.select(promotions).where(
            promotions.c.name == name,
            promotions.c.alias == alias,
            promotions.c.version == version,
            promotions.c.status == "pending",
        )
    ).first()


def insert_request(conn: Connection, **values: Any) -> None:
    conn.execute(promotions.insert().values(**values))


def decide_request(conn: Connection, request_id: str, **values: Any) -> None:
    conn.execute(promotions.update().where(promotions.c.id == request_id).values(**values))


def move_alias(conn: Connection, name: str, alias: str, version: int | None) -> None:
    """Point ``alias`` at ``version`` (``None`` removes it)."""
    conn.execute(sa.delete(aliases).where(aliases.c.name == name, aliases.c.alias == alias))
    if version is not None:
        conn.execute(aliases.insert().values(name=name, alias=alias, version=version))


def insert_alias_event(conn: Connection, **values: Any) -> None:
    conn.execute(alias_history.insert().values(**values))
