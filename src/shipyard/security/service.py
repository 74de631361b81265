"""Principals, teams, roles and API tokens."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.ids import new_secret
from shipyard._internal.paging import Key, Keyset, Page, keyset_page, resolve_limit
from shipyard._internal.service import Service, ServiceContext
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, ShipyardError, Unauthenticated
from shipyard.security import store
from shipyard.security.models import (
    ALL_TEAMS,
    NewToken,
    Permission,
    Principal,
    Role,
    TokenInfo,
)
from shipyard.security.refusals import RefusalLimiter
from shipyard.security.store import ensure_principal, load_principal
from shipyard.security.tables import principals, tokens

TOKEN_PREFIX = "shp_"
#: ``last_used_at`` is refreshed at most this often (a write per request would cost more than auth).
LAST_USED_EVERY = timedelta(minutes=1)

log = logging.getLogger("shipyard.security")


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is safe and keeps auth O(1).
    return hashlib.sha256(token.encode()).hexdigest()


def _parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidArgument(
            f"unknown role '{role}' (one of: {allowed})", role=str(role)
        ) from None


def _token_info(row: sa.Row[Any], principal: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        principal=principal,
        prefix=row.prefix,
        created_at=as_utc(row.created_at),
        expires_at=as_utc(row.expires_at) if row.expires_at else None,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        last_used_at=as_utc(row.last_used_at) if row.last_used_at else None,
    )


class SecurityService(Service):
    """Who may do what. Every mutation is authorized and audited."""

    def __init__(self, ctx: ServiceContext, *, refusals: RefusalLimiter) -> None:
        super().__init__(ctx)
        self._refusals = refusals  # per process: one audit record per token and window

    # -- authentication (no caller yet) -----------------------------------------

    def authenticate(self, token: str | None) -> Principal:
        """The principal a bearer token belongs to: one indexed query per call.

        Nothing is cached, so a revoked token is refused on the very next request.
        Use of a revoked or expired token is audited (the principal is known);
        unknown tokens are only logged, so anonymous callers cannot fill the audit log.

        Raises:
            Unauthenticated: missing, unknown, expired or revoked token.
        """
        if not token:
            raise Unauthenticated("missing bearer token")
        with self._ctx.db.connect() as conn:
            rows = store.auth_rows(conn, hash_token(token))
        if not rows:
            log.warning("refused an unknown bearer token (prefix %s)", token[:10])
            raise Unauthenticated("invalid token")
        first = rows[0]
        now = utcnow()
        if first.revoked_at is not None:
            self._refuse(first, "revoked", now)
        if first.expires_at is not None and as_utc(first.expires_at) <= now:
            self._refuse(first, "expired", now)
        if first.last_used_at is None or as_utc(first.last_used_at) < now - LAST_USED_EVERY:
            self._touch(first.token_id, now)
        roles = {r.team: Role(r.role) for r in rows if r.team is not None}
        return Principal(id=first.principal_id, name=first.name, kind=first.kind, roles=roles)

    def _refuse(self, row: sa.Row[Any], reason: str, now: datetime) -> NoReturn:
        # One record per token per window, carrying how many refusals went unrecorded.
        limiter = self._refusals
        suppressed = limiter.admit(row.token_id, now)
        if suppressed is not None:
            details = {"reason": f"token {reason}", "token_id": row.token_id}
            try:
                with self._ctx.db.begin() as conn:
                    self._ctx.audit.write(
                        conn,
                        principal=row.name,
                        action="security.authenticate",
                        outcome="denied",
                        asset=f"principal:{row.name}",
                        details={**details, "suppressed": suppressed} if suppressed else details,
                    )
            except (ShipyardError, SQLAlchemyError):
                limiter.failed(row.token_id, suppressed)
                log.exception("could not audit a refused token")
        raise Unauthenticated(f"token has {'been revoked' if reason == 'revoked' else reason}")

    def _touch(self, token_id: str, now: datetime) -> None:
        # Best effort, throttled (LAST_USED_EVERY) and never queued behind a long
        # writer: bookkeeping must not fail or stall a request.
        try:
            with self._ctx.db.begin_nowait() as conn:
                store.touch_token(conn, token_id, now)
        except (ShipyardError, SQLAlchemyError):
            log.warning("could not record last use of token %s", token_id)

    def whoami(self) -> Principal:
        return self.principal

    # -- principals ---------------------------------------------------------------

    def create_principal(
        self,
        name: str,
        *,
        kind: str = "user",
        team: str | None = None,
        role: str | Role = Role.VIEWER,
    ) -> Principal:
        if kind not in ("user", "service"):
            raise InvalidArgument("kind must be 'user' or 'service'", kind=kind)
        if not name or len(name) > 128:
            raise InvalidArgument("a principal name is 1 to 128 characters", name=name)
        team = team or self._ctx.default_team
        parsed = _parse_role(role)
        with self._ctx.mutation(
            "security.create_principal",
            team=team,
            asset=f"principal:{name}",
            permission=Permission.ADMIN,
        ) as m:
            if load_principal(m.conn, name) is not None:
                raise AlreadyExists(f"principal '{name}' already exists", name=name)
            m.details = {"kind": kind, "team": team, "role": parsed.value}
            return ensure_principal(m.conn, name, kind=kind, team=team, role=parsed)

    def grant(self, name: str, *, team: str, role: str | Role) -> Principal:
        parsed = _parse_role(role)
        with self._ctx.mutation(
            "security.grant", team=team, asset=f"principal:{name}", permission=Permission.ADMIN
        ) as m:
            if load_principal(m.conn, name) is None:
                raise NotFound(f"no principal named '{name}'", name=name)
            m.details = {"team": team, "role": parsed.value}
            return ensure_principal(m.conn, name, team=team, role=parsed)

    def revoke_role(self, name: str, *, team: str) -> Principal:
        with self._ctx.mutation(
            "security.revoke_role",
            team=team,
            asset=f"principal:{name}",
            permission=Permission.ADMIN,
        ) as m:
            p = load_principal(m.conn, name)
            if p is None:
                raise NotFound(f"no principal named '{name}'", name=name)
            store.delete_membership(m.conn, p.id, team)
            m.details = {"team": team}
            found = load_principal(m.conn, name)
            assert found is not None
            return found

    def get_principal(self, name: str) -> Principal:
        if name != self.principal.name:
            self._ctx.require(
                Permission.ADMIN,
                ALL_TEAMS if self.principal.is_admin else self._ctx.default_team,
                action="security.get_principal",
            )
        with self._ctx.db.connect() as conn:
            p = load_principal(conn, name)
        if p is None:
            raise NotFound(f"no principal named '{name}'", name=name)
        return p

    def list_principals(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Principal]:
        """Every principal with its roles, by name (needs read on the default team)."""
        self._ctx.require(
            Permission.READ, self._ctx.default_team, action="security.list_principals"
        )
        size = resolve_limit(self._ctx.settings, limit)
        keyset = Keyset("security.principals", Key(principals.c.name))
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn, sa.select(principals.c.name), keyset, limit=size, page_token=page_token
            )
            items = [p for r in rows if (p := load_principal(conn, r.name)) is not None]
        return Page(items=items, next_page_token=token)

    # -- tokens ---------------------------------------------------------------------

    def _can_manage(self, name: str) -> bool:
        return name == self.principal.name or self.principal.is_admin

    def create_token(
        self,
        *,
        principal: str | None = None,
        name: str = "default",
        expires_in: timedelta | None = timedelta(days=90),
    ) -> NewToken:
        """Mint a token. The secret is returned once and stored only as a hash.

        Raises:
            PermissionDenied: minting for another principal without admin.
            NotFound: unknown principal.
        """
        owner = principal or self.principal.name
        action = "security.create_token"
        if not self._can_manage(owner):
            self._ctx.require(
                Permission.ADMIN, ALL_TEAMS, action=action, asset=f"principal:{owner}"
            )
        if expires_in is not None and expires_in.total_seconds() <= 0:
            raise InvalidArgument("expires_in must be positive", expires_in=str(expires_in))
        with self._ctx.mutation(
            action,
            team=self._team_for(owner),
            asset=f"principal:{owner}",
            permission=Permission.READ,
        ) as m:
            p = load_principal(m.conn, owner)
            if p is None:
                raise NotFound(f"no principal named '{owner}'", name=owner)
            secret = TOKEN_PREFIX + new_secret(32)
            now = utcnow()
            row = store.insert_token(
                m.conn,
                principal_id=p.id,
                name=name,
                token_hash=hash_token(secret),
                prefix=secret[:10],
                created_at=now,
                expires_at=(now + expires_in) if expires_in else None,
            )
            m.details = {"token_id": row.id, "name": name}
            return NewToken(token=secret, info=_token_info(row, owner))

    def _team_for(self, name: str) -> str:
        # Any role on any team lets a caller manage their own tokens.
        if name == self.principal.name and self.principal.roles:
            return next(iter(self.principal.roles))
        return ALL_TEAMS

    def list_tokens(
        self,
        *,
        principal: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TokenInfo]:
        """Tokens (never their secrets), oldest first: the caller's own, or any for an admin."""
        size = resolve_limit(self._ctx.settings, limit)
        q = sa.select(tokens, principals.c.name.label("principal_name")).join(
            principals, principals.c.id == tokens.c.principal_id
        )
        if principal is not None:
            q = q.where(principals.c.name == principal)
        if not self.principal.is_admin:
            if principal not in (None, self.principal.name):
                self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="security.list_tokens")
            q = q.where(principals.c.name == self.principal.name)
        keyset = Keyset("security.tokens", Key(tokens.c.created_at), Key(tokens.c.id))
        with self._ctx.db.connect() as conn:
            rows, token = keyset_page(
                conn,
                q,
                keyset,
                limit=size,
                page_token=page_token,
                filters={"principal": principal, "as": self.principal.name},
            )
        return Page(items=[_token_info(r, r.principal_name) for r in rows], next_page_token=token)

    def revoke_token(self, token_id: str) -> TokenInfo:
        with self._ctx.db.connect() as conn:
            row = store.find_token(conn, token_id)
        if row is None:
            raise NotFound(f"no token '{token_id}'", token_id=token_id)
        owner = row.principal_name
        action = "security.revoke_token"
        if not self._can_manage(owner):
            self._ctx.require(
                Permission.ADMIN, ALL_TEAMS, action=action, asset=f"principal:{owner}"
            )
        with self._ctx.mutation(
            action,
            team=self._team_for(owner),
            asset=f"principal:{owner}",
            permission=Permission.READ,
        ) as m:
            fresh = store.revoke_token(m.conn, row.id, utcnow())
            m.details = {"token_id": row.id}
            return _token_info(fresh, owner)
