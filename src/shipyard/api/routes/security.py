"""Principals and tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipyard.api.deps import Caller
from shipyard.security.models import NewToken, Principal, Role, TokenInfo

router = APIRouter(tags=["security"])


class CreatePrincipal(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    kind: str = "user"
    team: str | None = None
    role: Role = Role.VIEWER


class Grant(BaseModel):
    team: str
    role: Role


class CreateToken(BaseModel):
    principal: str | None = None
    name: str = "default"
    expires_in_days: float | None = Field(default=90, gt=0)


@router.get("/whoami")
def whoami(platform: Caller) -> Principal:
    return platform.security.whoami()


@router.get("/principals")
def list_principals(platform: Caller) -> list[Principal]:
    return platform.security.list_principals()


@router.post("/principals", status_code=201)
def create_principal(platform: Caller, body: CreatePrincipal) -> Principal:
    return platform.security.create_principal(
        body.name, kind=body.kind, team=body.team, role=body.role
    )


@router.post("/principals/{name}/roles")
def grant(platform: Caller, name: str, body: Grant) -> Principal:
    return platform.security.grant(name, team=body.team, role=body.role)


@router.post("/tokens", status_code=201)
def create_token(platform: Caller, body: CreateToken) -> NewToken:
    expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    return platform.security.create_token(
        principal=body.principal, name=body.name, expires_in=expires
    )


@router.get("/tokens")
def list_tokens(platform: Caller, principal: str | None = None) -> list[TokenInfo]:
    return platform.security.list_tokens(principal=principal)


@router.delete("/tokens/{token_id}")
def revoke_token(platform: Caller, token_id: str) -> TokenInfo:
    return platform.security.revoke_token(token_id)
