"""Deployments: traffic split, live latency and throughput (htmx polling of the shared
stats), the A/B report, shadow and canary state, and rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.serving.models import Variant
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, page, see_other
from shipyard.ui.session import Session, posted

router = APIRouter(route_class=UIRoute)
Token = Annotated[str | None, Query(max_length=4096)]
#: The live panel reads the inference log over this window and the page polls it this often.
WINDOW_SECONDS = 300.0
POLL = "every 5s"


@router.get("/deployments")
def deployments(request: Request, session: Signed, page_token: Token = None) -> Response:
    found = session.view.serving.list_deployments(limit=100, page_token=page_token)
    return page(request, "deployments/list.html", nav="deployments", found=found)


def _serving_versions(session: Session, variants: list[Variant]) -> dict[str, int | None]:
    """The model version each variant serves now (an alias resolved in the registry)."""
    out: dict[str, int | None] = {}
    for v in variants:
        model, alias, version = v.parsed_model()
        if alias:
            try:
                version = session.view.registry.get_model_version_by_alias(model, alias).version
            except ShipyardError:  # not readable or not set: shown as unknown
                version = None
        out[v.name] = version
    return out


@router.get("/deployments/{name}")
def deployment(request: Request, session: Signed, name: str) -> Response:
    serving = session.view.serving
    found = serving.get_deployment(name)
    versions = serving.list_deployment_versions(name, limit=100)
    total = sum(v.weight for v in found.variants if not v.shadow) or 1
    return page(
        request,
        "deployments/deployment.html",
        nav="deployments",
        d=found,
        versions=list(reversed(versions.items)),
        total=total,
        serves=_serving_versions(session, found.variants),
        poll=POLL,
        can_write=session.can("write", found.owner),
    )


@router.get("/deployments/{name}/stats")
def stats(request: Request, session: Signed, name: str) -> Response:
    """The live panel (an htmx fragment the page polls): requests/s and latency per variant."""
    found = session.view.serving.deployment_stats(name, window_seconds=WINDOW_SECONDS)
    return page(request, "deployments/stats.html", stats=found, window=WINDOW_SECONDS, poll=POLL)


@router.get("/deployments/{name}/report")
def report(request: Request, session: Signed, name: str) -> Response:
    """The A/B report fragment: outcomes and Brier scores per variant with p-values."""
    found = session.view.serving.get_report(name)
    return page(request, "deployments/report.html", report=found)


@router.post("/deployments/{name}/rollback")
async def rollback(request: Request, name: str) -> Response:
    """Serve an earlier version again (default: the one before), or end a running canary."""
    session, form = await posted(request)
    serving = session.view.serving
    raw = form.get("to_version")
    raw = raw.strip() if isinstance(raw, str) else ""
    if form.get("canary") == "1":
        await run_in_threadpool(serving.rollback_canary, name, reason="rolled back in the web UI")
    elif raw and not raw.isdigit():
        raise InvalidArgument("to_version is a version number", to_version=raw[:20])
    else:
        to = int(raw) if raw else None
        await run_in_threadpool(lambda: serving.rollback_deployment(name, to_version=to))
    return see_other("deployments", name)
