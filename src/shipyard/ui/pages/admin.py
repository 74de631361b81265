"""Security pages for admins: principals and their roles per team, tokens, the role table.

Every page and form calls the security service, which refuses anyone but an admin;
the menu shows the link to admins only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from shipyard.errors import InvalidArgument
from shipyard.security.models import ROLE_PERMISSIONS, Role
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, page, see_other
from shipyard.ui.session import posted

router = APIRouter(route_class=UIRoute)
Token = Annotated[str | None, Query(max_length=4096)]


def _field(form: FormData, name: str, max_length: int = 128) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidArgument(f"'{name}' is required (at most {max_length} characters)")
    return value.strip()


@router.get("/admin")
def principals(request: Request, session: Signed, page_token: Token = None) -> Response:
    found = session.view.security.list_principals(limit=100, page_token=page_token)
    teams = sorted({t for p in found.items for t in p.roles})
    return page(
        request,
        "admin/principals.html",
        nav="admin",
        found=found,
        teams=teams,
        roles=[r.value for r in Role],
        role_table=sorted(
            (r.value, sorted(p.value for p in ps)) for r, ps in ROLE_PERMISSIONS.items()
        ),
    )


@router.get("/admin/principals/{name}")
def principal(request: Request, session: Signed, name: str, page_token: Token = None) -> Response:
    who = session.view.security.get_principal(name)
    tokens = session.view.security.list_tokens(principal=name, limit=100, page_token=page_token)
    return page(
        request,
        "admin/principal.html",
        nav="admin",
        who=who,
        tokens=tokens,
        roles=[r.value for r in Role],
        new_token=None,
    )


@router.post("/admin/principals")
async def create_principal(request: Request) -> Response:
    session, form = await posted(request)
    name = _field(form, "name")
    await run_in_threadpool(
        session.view.security.create_principal,
        name,
        team=_field(form, "team"),
        role=_field(form, "role"),
    )
    return see_other("admin/principals", name)


@router.post("/admin/principals/{name}/roles")
async def grant(request: Request, name: str) -> Response:
    session, form = await posted(request)
    team, role = _field(form, "team"), _field(form, "role")
    await run_in_threadpool(session.view.security.grant, name, team=team, role=role)
    return see_other("admin/principals", name)


@router.post("/admin/principals/{name}/roles/revoke")
async def revoke_role(request: Request, name: str) -> Response:
    session, form = await posted(request)
    team = _field(form, "team")
    await run_in_threadpool(session.view.security.revoke_role, name, team=team)
    return see_other("admin/principals", name)


@router.post("/admin/principals/{name}/tokens")
async def create_token(request: Request, name: str) -> Response:
    """Mint a token and show its secret once, on this response only (never stored by the UI)."""
    session, form = await posted(request)
    label = _field(form, "token_name", 64)
    security = session.view.security
    new = await run_in_threadpool(lambda: security.create_token(principal=name, name=label))
    who = await run_in_threadpool(security.get_principal, name)
    tokens = await run_in_threadpool(lambda: security.list_tokens(principal=name, limit=100))
    response = page(
        request,
        "admin/principal.html",
        nav="admin",
        who=who,
        tokens=tokens,
        roles=[r.value for r in Role],
        new_token=new.token,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: str) -> Response:
    session, _ = await posted(request)
    info = await run_in_threadpool(session.view.security.revoke_token, token_id)
    return see_other("admin/principals", info.principal)
