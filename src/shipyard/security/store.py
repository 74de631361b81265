"""Security persistence on one connection: principals, memberships, tokens.

The SQL lives here; ``SecurityService`` decides who may do what and audits it.
Runs unchanged on SQLite and PostgreSQL (ADR 0002).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard.security.models import Principal, Role
from shipyard.security.tables import memberships, principals, tokens

#: Token -> principal -> memberships in one statement; ``token_hash`` is unique (indexed).
_AUTH_QUERY = (
    sa.select(
        tokens.c.id.label("token_id"),
        tokens.c.expires_at,
        tokens.c.revoked_at,
        tokens.c.last_used_at,
        principals.c.id.label("principal_id"),
        principals.c.name,
        principals.c.kind,
        memberships.c.team,
        memberships.c.role,
    )
    .select_from(
        tokens.join(principals, principals.c.id == tokens.c.principal_id).outerjoin(
            memberships, memberships.c.principal_id == principals.c.id
        )
    )
    .where(tokens.c.token_hash == sa.bindparam("digest"))
)


#: Change-feed channel and kind of security writes (``shipyard.catalog.changes``): the
#: HTTP edges' token cache drops what it holds when a token or a role changes.
CHANGES_CHANNEL = "shipyard_catalog"
CHANGES_KIND = "security"


def announce_change(conn: Connection) -> None:
    """Tell token caches in every process that tokens or roles changed (at commit).

    PostgreSQL only: on SQLite the caches watch ``PRAGMA data_version``, which any commit moves.
    Every store write that changes a token or a role calls it.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANGES_CHANNEL, CHANGES_KIND)))


def auth_rows(conn: Connection, digest: str) -> list[Any]:
    """The token with hash ``digest`` joined to its principal, one row per membership."""
    return list(conn.execute(_AUTH_QUERY, {"digest": digest}).all())


def load_principal(conn: Connection, name: str) -> Principal | None:
    row = conn.execute(sa.select(principals).where(principals.c.name == name)).first()
    if row is None:
        return None
    roles = {
        m.team: Role(m.role)
        for m in conn.execute(sa.select(memberships).where(memberships.c.principal_id == row.id))
    }
    return Principal(id=row.id, name=row.name, kind=row.kind, roles=roles)


def ensure_principal(
    conn: Connection,
    name: str,
    *,
    kind: str = "user",
    team: str | None = None,
    role: Role | None = None,
) -> Principal:
    """Create the principal if missing and grant ``role`` on ``team`` (no audit: bootstrap).

    Writes nothing when the principal already holds exactly that role there.
    """
    existing = load_principal(conn, name)
    if existing is not None and (team is None or role is None or existing.roles.get(team) == role):
        return existing
    if existing is None:
        conn.execute(
            principals.insert().values(id=new_id(), name=name, kind=kind, created_at=utcnow())
        )
    pid = conn.execute(sa.select(principals.c.id).where(principals.c.name == name)).scalar_one()
    if team is not None and role is not None:
        delete_membership(conn, pid, team)
        conn.execute(memberships.insert().values(principal_id=pid, team=team, role=role.value))
    found = load_principal(conn, name)
    assert found is not None
    return found


def delete_membership(conn: Connection, principal_id: str, team: str) -> None:
    conn.execute(
        sa.delete(memberships).where(
            memberships.c.principal_id == principal_id, memberships.c.team == team
        )
    )
    announce_change(conn)


def touch_token(conn: Connection, token_id: str, now: datetime) -> None:
    conn.execute(tokens.update().where(tokens.c.id == token_id).values(last_used_at=now))


def insert_token(
    conn: Connection,
    *,
    principal_id: str,
    name: str,
    token_hash: str,
    prefix: str,
    created_at: datetime,
    expires_at: datetime | None,
) -> Any:
    """Store a new token (its hash, never the secret); returns its row."""
    token_id = new_id()
    conn.execute(
        tokens.insert().values(
            id=token_id,
            principal_id=principal_id,
            name=name,
            token_hash=token_hash,
            prefix=prefix,
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    return token_row(conn, token_id)


def token_row(conn: Connection, token_id: str) -> Any:
    return conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).one()


def find_token(conn: Connection, id_or_prefix: str) -> Any | None:
    """The token whose id or 10-character prefix is ``id_or_prefix``, with ``principal_name``."""
    return conn.execute(
        sa.select(tokens, principals.c.name.label("principal_name"))
        .join(principals, principals.c.id == tokens.c.principal_id)
        .where(sa.or_(tokens.c.id == id_or_prefix, tokens.c.prefix == id_or_prefix))
    ).first()


def revoke_token(conn: Connection, token_id: str, now: datetime) -> Any:
    """Mark the token revoked (the first revocation time is kept); returns its row."""
    conn.execute(
        tokens.update()
        .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    announce_change(conn)
    return token_row(conn, token_id)
