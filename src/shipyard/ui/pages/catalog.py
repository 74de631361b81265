"""Catalog: search, an asset's page, its description edit, its lineage graph."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.catalog.models import KNOWN_KINDS, MAX_LABEL, AssetRef
from shipyard.catalog.service import MAX_DEPTH
from shipyard.security.models import ALL_TEAMS
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, is_fragment, page, see_other
from shipyard.ui.session import posted

router = APIRouter(route_class=UIRoute)
PAGE_SIZE = 50
Text = Annotated[str | None, Query(max_length=200)]
Label = Annotated[str | None, Query(max_length=MAX_LABEL)]
Token = Annotated[str | None, Query(max_length=4096)]


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/catalog")
def search(
    request: Request,
    session: Signed,
    q: Text = None,
    kind: Label = None,
    team: Label = None,
    tag: Label = None,
    page_token: Token = None,
) -> Response:
    found = session.view.catalog.search(
        _blank(q),
        kind=_blank(kind),
        owner=_blank(team),
        tag=_blank(tag),
        limit=PAGE_SIZE,
        page_token=_blank(page_token),
    )
    filters = {"q": q or "", "kind": kind or "", "team": team or "", "tag": tag or ""}
    if is_fragment(request):
        return page(request, "catalog/results.html", found=found, filters=filters)
    # the team filter offers the user's teams; an all-teams role needs the teams that exist
    mine = [t for t in session.teams if t != ALL_TEAMS]
    teams = mine if ALL_TEAMS not in session.teams else session.view.catalog.teams()
    return page(
        request,
        "catalog/search.html",
        nav="catalog",
        found=found,
        filters=filters,
        kinds=KNOWN_KINDS,
        teams=teams,
    )


@router.get("/catalog/{kind}/{name:path}/lineage.json")
def lineage_data(
    session: Signed,
    kind: str,
    name: str,
    direction: Annotated[str, Query(pattern="^(upstream|downstream)$")] = "upstream",
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 5,
) -> Response:
    """Nodes and edges in cytoscape's element format (the service dropped what the user
    may not read), serialised by orjson straight from the walk's rows: at 5,000 nodes
    and 10,000 edges the validated models and the stdlib encoder were most of the time."""
    root, nodes, edges = session.view.catalog.lineage_keys(
        AssetRef.parse(f"{kind}:{name}"), direction=direction, depth=depth
    )
    elements: list[dict[str, Any]] = [
        {
            "data": {
                "id": f"{k}:{n}",
                "label": n,
                "kind": k,
                "root": f"{k}:{n}" == root,
                "href": f"/ui/catalog/{k}/{n}",
            }
        }
        for k, n in nodes
    ]
    elements += [
        {"data": {"id": f"e{i}", "source": s, "target": t, "op": op}}
        for i, (s, t, op) in enumerate(edges)
    ]
    body = orjson.dumps({"root": root, "elements": elements})
    return Response(body, media_type="application/json")


@router.get("/catalog/{kind}/{name:path}/lineage")
def lineage(
    request: Request,
    session: Signed,
    kind: str,
    name: str,
    direction: Annotated[str, Query(pattern="^(upstream|downstream)$")] = "upstream",
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 5,
) -> Response:
    asset = session.view.catalog.get_asset(AssetRef.parse(f"{kind}:{name}"))
    return page(
        request,
        "catalog/lineage.html",
        nav="catalog",
        asset=asset,
        direction=direction,
        depth=depth,
    )


@router.post("/catalog/{kind}/{name:path}/description")
async def edit_description(request: Request, kind: str, name: str) -> Response:
    session, form = await posted(request)
    text = form.get("description")
    description = text if isinstance(text, str) else ""
    ref = AssetRef.parse(f"{kind}:{name}")
    # the service decides: only the owner team's editors may change it (403 otherwise)
    await run_in_threadpool(session.view.catalog.update_asset, ref, description=description)
    return see_other("catalog", kind, name)


@router.get("/catalog/{kind}/{name:path}")
def asset_page(
    request: Request, session: Signed, kind: str, name: str, page_token: Token = None
) -> Response:
    ref = AssetRef.parse(f"{kind}:{name}")
    asset = session.view.catalog.get_asset(ref)
    versions = session.view.catalog.list_versions(ref, limit=PAGE_SIZE, page_token=page_token)
    props = {k: v for k, v in asset.properties.items() if k not in ("columns", "column_docs")}
    return page(
        request,
        "catalog/asset.html",
        nav="catalog",
        asset=asset,
        versions=versions,
        columns=asset.properties.get("columns") or [],
        props=props,
        can_edit=session.can("write", asset.owner),
    )
