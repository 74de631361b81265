"""Registry: models, versions (signatures, runs, lineage), aliases with their history,
and promotion requests with approve / reject governed by the registry service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.errors import InvalidArgument
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, page, see_other
from shipyard.ui.session import posted

router = APIRouter(route_class=UIRoute)
Text = Annotated[str | None, Query(max_length=200)]
Token = Annotated[str | None, Query(max_length=4096)]


@router.get("/registry")
def models(request: Request, session: Signed, q: Text = None, page_token: Token = None) -> Response:
    registry = session.view.registry
    like = f"%{q.strip()}%" if q and q.strip() else None
    found = registry.list_registered_models(name_like=like, limit=100, page_token=page_token)
    pending = registry.list_promotions(status="pending", limit=50)
    owners = {n: registry.get_registered_model(n).owner for n in {p.name for p in pending.items}}
    return page(
        request,
        "registry/list.html",
        nav="registry",
        found=found,
        pending=pending,
        q=q or "",
        approvers={n: session.can("approve", team) for n, team in owners.items()},
    )


@router.get("/registry/{name}")
def model(request: Request, session: Signed, name: str, page_token: Token = None) -> Response:
    registry = session.view.registry
    found = registry.get_registered_model(name)
    versions = registry.list_model_versions(name, limit=50, page_token=page_token)
    history = list(reversed(registry.alias_history(name)))[:100]
    promotions = registry.list_promotions(name=name, limit=50)
    return page(
        request,
        "registry/model.html",
        nav="registry",
        m=found,
        versions=versions,
        history=history,
        promotions=promotions,
        can_write=session.can("write", found.owner),
        can_approve=session.can("approve", found.owner),
    )


@router.get("/registry/{name}/versions/{version}")
def version(request: Request, session: Signed, name: str, version: int) -> Response:
    registry = session.view.registry
    found = registry.get_model_version(name, version)
    files = registry.list_model_files(name, version, limit=200)
    return page(request, "registry/version.html", nav="registry", v=found, files=files)


def _field(form: object, key: str, limit: int = 1000) -> str:
    value = form.get(key) if hasattr(form, "get") else None
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post("/registry/{name}/aliases")
async def set_alias(request: Request, name: str) -> Response:
    """Point an alias at a version: a protected alias becomes a pending promotion request."""
    session, form = await posted(request)
    alias, raw = _field(form, "alias", 100), _field(form, "version", 20)
    if not alias or not raw.isdigit():
        raise InvalidArgument("give an alias and a version number", alias=alias[:50])
    comment = _field(form, "comment") or None
    registry = session.view.registry
    await run_in_threadpool(registry.set_alias, name, alias, int(raw), comment=comment)
    return see_other("registry", name)


async def _decide(request: Request, request_id: str, approve: bool) -> Response:
    session, form = await posted(request)
    registry = session.view.registry
    decide = registry.approve_promotion if approve else registry.reject_promotion
    done = await run_in_threadpool(decide, request_id, comment=_field(form, "comment") or None)
    return see_other("registry", done.name)


@router.post("/registry/promotions/{request_id}/approve")
async def approve(request: Request, request_id: str) -> Response:
    """Approve as the signed-in user (the service refuses the requester and non-approvers)."""
    return await _decide(request, request_id, approve=True)


@router.post("/registry/promotions/{request_id}/reject")
async def reject(request: Request, request_id: str) -> Response:
    return await _decide(request, request_id, approve=False)
