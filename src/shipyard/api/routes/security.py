"""Principals and tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import PageSize
from shipyard.security.models import NewToken, Principal, Role, TokenInfo

router = APIRouter(tags=["security"])


class CreatePrincipal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    kind: Literal["user", "service"] = "user"
    team: str | None = Field(default=None, min_length=1, max_length=128)
    role: Role = Role.VIEWER


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=128)
    role: Role


class CreateToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str | None = None
    name: str = Field(default="default", min_length=1, max_length=128)
    #: ``null`` for a token that never expires.
    expires_in_days: float | None = Field(default=90, gt=0)


@router.get("/whoami")
async def whoami(platform: Caller) -> Principal:
    # No I/O (the caller is already resolved), so no thread-pool hop.
    return platform.security.whoami()


@router.get("/principals")
def list_principals(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> Page[Principal]:
    return platform.security.list_principals(limit=limit, page_token=page_token)


@router.post("/principals", status_code=201)
def create_principal(platform: Caller, body: CreatePrincipal) -> Principal:
    return platform.security.create_principal(
        body.name, kind=body.kind, team=body.team, role=body.role
    )


@router.get("/principals/{name}")
def get_principal(platform: Caller, name: str) -> Principal:
    return platform.security.get_principal(name)


@router.post("/principals/{name}/roles")
def grant(platform: Caller, name: str, body: Grant) -> Principal:
    return platform.security.grant(name, team=body.team, role=body.role)


@router.delete("/principals/{name}/roles/{team}")
def revoke_role(platform: Caller, name: str, team: str) -> Principal:
    return platform.security.revoke_role(name, team=team)


@router.post("/tokens", status_code=201)
def create_token(platform: Caller, body: CreateToken) -> NewToken:
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    return platform.security.create_token(
        principal=body.principal, name=body.name, expires_in=expires
    )


@router.get("/tokens")
def list_tokens(
    platform: Caller,
    principal: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[TokenInfo]:
    return platform.security.list_tokens(principal=principal, limit=limit, page_token=page_token)


@router.delete("/tokens/{token_id}")
def revoke_token(platform: Caller, token_id: str) -> TokenInfo:
    return platform.security.revoke_token(token_id)
