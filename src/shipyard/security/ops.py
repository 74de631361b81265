"""The security operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from shipyard._internal.ops import Op
from shipyard.security.models import Role

PRINCIPAL = "/principals/{name}"
NAME = Annotated[str, Field(min_length=1, max_length=128)]


def _days(expires_in: timedelta | None) -> float | None:
    return expires_in.total_seconds() / 86400 if expires_in else None


def _expires_in(days: float | None) -> timedelta | None:
    return timedelta(days=days) if days else None


OPS = {
    # ``whoami`` answers on the event loop (no I/O): the route is written out.
    "whoami": Op("GET", "/whoami", served=False),
    "list_principals": Op("GET", "/principals"),
    "create_principal": Op(
        "POST",
        "/principals",
        status=201,
        types={"name": NAME, "kind": Literal["user", "service"], "team": NAME | None, "role": Role},
    ),
    "get_principal": Op("GET", PRINCIPAL),
    "grant": Op("POST", PRINCIPAL + "/roles", types={"team": NAME, "role": Role}),
    "revoke_role": Op("DELETE", PRINCIPAL + "/roles/{team}"),
    "create_token": Op(
        "POST",
        "/tokens",
        status=201,
        wire={"expires_in": "expires_in_days"},
        encode={"expires_in": _days},
        parse={"expires_in": _expires_in},
        #: ``null`` for a token that never expires.
        types={"name": NAME, "expires_in": Annotated[float, Field(gt=0)] | None},
    ),
    "list_tokens": Op("GET", "/tokens"),
    "revoke_token": Op("DELETE", "/tokens/{token_id}"),
}
