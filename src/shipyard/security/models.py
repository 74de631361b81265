"""Principals, roles, permissions and tokens."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shipyard._internal.identity import (  # the kernel's identity, public here
    ALL_TEAMS,
    ROLE_PERMISSIONS,
    Permission,
    Principal,
    Role,
)

__all__ = [
    "ALL_TEAMS",
    "ROLE_PERMISSIONS",
    "NewToken",
    "Permission",
    "Principal",
    "Role",
    "TokenInfo",
]


class TokenInfo(BaseModel):
    """A token as listed: never the secret itself."""

    id: str
    name: str
    principal: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        from shipyard._internal.clock import utcnow

        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


class NewToken(BaseModel):
    """Returned once by ``create_token``: the only time the secret is shown."""

    token: str
    info: TokenInfo
