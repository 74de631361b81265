"""Pagination: every ``list_`` method returns a ``Page`` with an opaque next-page token.

The convention (SDK, HTTP and CLI alike):

- ``limit``: rows per page. ``None`` takes ``paging.default_limit`` from ``Settings``;
  past ``paging.max_limit`` it is lowered to that maximum (the page then says more
  exist); below 1 is ``InvalidArgument``.
- ``page_token``: the ``next_page_token`` of the previous page (``None``: the first).
- The result is ``Page[T]``: ``items`` and ``next_page_token`` (``None`` on the last page).

Pages are cut by keyset on a stable, unique order (``Keyset``): the token holds the
sort key of the last row shown, so rows added or removed between calls never shift a
page. Which rows a caller may read is a ``WHERE`` clause of the same query
(``readable_teams``), so every page is full and the token is right for restricted
callers too. A token is bound to the method and filters it was issued for (a digest),
and decoded strictly: anything malformed, forged or reused with other filters is
``InvalidArgument``, never a server error. Tokens carry no secret and need none: the
permission filter is applied to every page, so a hand-made token can only move the
starting point within rows the caller may read anyway. See docs/adr/0012-paging.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from shipyard._internal.identity import ALL_TEAMS, Permission, Principal
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard._internal.service import ServiceContext
    from shipyard.config import Settings

T = TypeVar("T")

#: Longest token accepted (a token is a few hundred bytes; this bounds the decode work).
MAX_TOKEN_CHARS = 4096
_VERSION = 1


class Page(BaseModel, Generic[T]):
    """One page of a ``list_`` call: its ``items`` and the token of the next page, if any."""

    items: list[T]
    next_page_token: str | None = None


# -- limits ----------------------------------------------------------------------------------


def resolve_limit(settings: Settings, limit: int | None) -> int:
    """The page size to use: ``None`` is the default; above the maximum is the maximum.

    Raises:
        InvalidArgument: ``limit`` below 1 (or not an integer).
    """
    paging = settings.paging
    if limit is None:
        return paging.default_limit
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgument("limit must be a positive integer", limit=str(limit)[:40])
    return min(limit, paging.max_limit)


# -- who may read what -----------------------------------------------------------------------


def readable_teams(
    principal: Principal, permission: Permission = Permission.READ
) -> list[str] | None:
    """Teams whose rows ``principal`` may see with ``permission``; ``None`` means every team.

    A role on ``*`` that grants the permission (an admin, a global viewer) reads all
    teams; otherwise the teams of the principal's role bindings that grant it.
    """
    if principal.can(permission, ALL_TEAMS):
        return None
    return sorted(t for t in principal.roles if t != ALL_TEAMS and principal.can(permission, t))


def listing_teams(
    ctx: ServiceContext, *, action: str, owner: str | None = None
) -> list[str] | None:
    """The teams a list call shows: ``owner`` (READ on it required) or every readable team.

    A caller who may read no team at all is refused (and audited) rather than shown an
    empty list, as before paging moved into the query.
    """
    if owner is not None:
        ctx.require(Permission.READ, owner, action=action)
        return [owner]
    teams = readable_teams(ctx.principal)
    if teams == []:
        ctx.require(Permission.READ, ctx.default_team, action=action)
    return teams


def team_filter(column: sa.ColumnElement[Any], teams: list[str] | None) -> sa.ColumnElement[bool]:
    """``column IN (teams)``, or TRUE when ``teams`` is None (every team)."""
    if teams is None:
        return sa.true()
    return column.in_(teams)


# -- tokens ----------------------------------------------------------------------------------


def scope_digest(scope: str, filters: dict[str, Any] | None = None) -> str:
    """A short digest of the method and filters a token is valid for."""
    body = json.dumps([scope, filters or {}], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(token: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"invalid page token ({why})", page_token=token[:100])


def _decode(token: str, digest: str) -> dict[str, Any]:
    if not isinstance(token, str):
        raise InvalidArgument("a page token must be a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise _bad(token, "too long")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise _bad(token, "not a token this API issued") from None
    if not isinstance(payload, dict) or payload.get("v") != _VERSION:
        raise _bad(token, "not a token this API issued")
    if payload.get("s") != digest:
        raise _bad(token, "it belongs to another list or other filters")
    return payload


def encode_offset_token(offset: int, digest: str) -> str:
    return _encode({"v": _VERSION, "s": digest, "o": offset})


def decode_offset_token(token: str | None, digest: str) -> int:
    """The offset a token of an offset-paged list carries (0 without a token)."""
    if not token:
        return 0
    offset = _decode(token, digest).get("o")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 2**62:
        raise _bad(token, "bad offset")
    return offset


# -- keyset paging ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One column of a stable order."""

    column: sa.ColumnElement[Any]
    descending: bool = False
    #: The name under which the column appears in the selected row (default: its name).
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or str(getattr(self.column, "name", ""))

    def check(self, value: Any) -> Any:
        """The token's value for this key as the column's Python type, or ValueError."""
        ctype = self.column.type
        if isinstance(ctype, sa.DateTime):
            if not isinstance(value, str):
                raise ValueError(value)
            return datetime.fromisoformat(value)
        if isinstance(ctype, sa.Integer):
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**62:
                raise ValueError(value)
            return value
        if isinstance(ctype, sa.Float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(value)
            return float(value)
        if not isinstance(value, str) or len(value) > 1024:
            raise ValueError(value)
        return value


def _dump(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class Keyset:
    """A stable, unique order (the last key is a unique column) and its token scope."""

    scope: str
    keys: tuple[Key, ...]

    def __init__(self, scope: str, *keys: Key) -> None:
        object.__setattr__(self, "scope", scope)
        object.__setattr__(self, "keys", keys)

    def order_by(self) -> list[sa.ColumnElement[Any]]:
        return [k.column.desc() if k.descending else k.column.asc() for k in self.keys]

    def after(self, values: Sequence[Any]) -> sa.ColumnElement[bool]:
        """Rows strictly after ``values`` in this order."""
        terms = []
        for i, key in enumerate(self.keys):
            step = key.column < values[i] if key.descending else key.column > values[i]
            equal = [self.keys[j].column == values[j] for j in range(i)]
            terms.append(sa.and_(*equal, step))
        return sa.or_(*terms)

    def decode(self, token: str, digest: str) -> list[Any]:
        values = _decode(token, digest).get("k")
        if not isinstance(values, list) or len(values) != len(self.keys):
            raise _bad(token, "bad key")
        try:
            return [key.check(v) for key, v in zip(self.keys, values, strict=True)]
        except (ValueError, TypeError):
            raise _bad(token, "bad key") from None

    def encode(self, row: Any, digest: str) -> str:
        values = [_dump(getattr(row, k.name)) for k in self.keys]
        return _encode({"v": _VERSION, "s": digest, "k": values})


def keyset_page(
    conn: Connection,
    query: sa.Select[Any],
    keyset: Keyset,
    *,
    limit: int,
    page_token: str | None,
    filters: dict[str, Any] | None = None,
) -> tuple[list[Any], str | None]:
    """Run ``query`` for one page in ``keyset`` order after ``page_token``.

    ``query`` must already hold every filter, the permission filter included, and
    select the key columns (under their ``Key.name``). ``filters`` are the caller's
    arguments that shape the result: a token is only valid with the same ones.

    Returns:
        The page's rows and the token of the next page (``None`` on the last).
    """
    digest = scope_digest(keyset.scope, filters)
    if page_token:
        query = query.where(keyset.after(keyset.decode(page_token, digest)))
    rows = list(conn.execute(query.order_by(*keyset.order_by()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, keyset.encode(rows[-1], digest)


def page_in_memory(
    items: Sequence[T],
    key: Callable[[T], str],
    *,
    scope: str,
    limit: int,
    page_token: str | None,
    filters: dict[str, Any] | None = None,
) -> Page[T]:
    """Keyset paging over an already filtered list that is not in a SQL table (files, topics).

    ``key`` must be unique per item; items are returned in ``key`` order.
    """
    digest = scope_digest(scope, filters)
    ordered = sorted(items, key=key)
    if page_token:
        values = _decode(page_token, digest).get("k")
        if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)):
            raise _bad(page_token, "bad key")
        ordered = [i for i in ordered if key(i) > values[0]]
    if len(ordered) <= limit:
        return Page(items=list(ordered))
    shown = list(ordered[:limit])
    token = _encode({"v": _VERSION, "s": digest, "k": [key(shown[-1])]})
    return Page(items=shown, next_page_token=token)


def all_items(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of a paged list, following the tokens (``fetch(page_token)``)."""
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page.items
        token = page.next_page_token
        if not token:
            return
