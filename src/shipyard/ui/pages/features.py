"""Features: entities, feature views and services; freshness and materialization; an
online lookup form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, is_fragment, page, see_other
from shipyard.ui.session import posted

router = APIRouter(route_class=UIRoute)
KINDS = ("entity", "feature_view", "on_demand_feature_view", "feature_service")
Kind = Annotated[str | None, Query(pattern="^(" + "|".join(KINDS) + ")$")]
INTEGER_TYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


@router.get("/features")
def definitions(
    request: Request,
    session: Signed,
    kind: Kind = None,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    found = session.view.features.list_definitions(kind, limit=100, page_token=page_token)
    return page(
        request, "features/list.html", nav="features", found=found, kinds=KINDS, kind=kind or ""
    )


def _join_keys(view: Platform, definition: Any) -> list[tuple[str, str]]:
    """(join key, value type) of a feature view's entities."""
    keys: list[tuple[str, str]] = []
    for entity_name in getattr(definition, "entities", None) or []:
        entity = view.features.get_definition("entity", entity_name)
        keys += [(k, entity.value_type) for k in entity.join_keys]
    return keys


def _typed(raw: str, value_type: str, key: str) -> Any:
    if value_type in INTEGER_TYPES:
        try:
            return int(raw)
        except ValueError:
            raise InvalidArgument(f"{key} is a whole number, not '{raw[:50]}'", key=key) from None
    return raw


@router.get("/features/{kind}/{name}/lookup")
def lookup(request: Request, session: Signed, kind: str, name: str) -> Response:
    """Online values for one entity (the key values come as query parameters)."""
    definition = session.view.features.get_definition(kind, name)
    keys = _join_keys(session.view, definition)
    row = {k: _typed(request.query_params.get(k, "")[:200], t, k) for k, t in keys}
    refs = [f"{name}:{f.name}" for f in definition.features]
    found = session.view.features.get_online_features(refs, entity_rows=[row])
    values = [
        (col, vals[0], found.statuses.get(col, [""])[0]) for col, vals in found.values.items()
    ]
    name_ = "features/lookup.html" if is_fragment(request) else "features/lookup_page.html"
    return page(request, name_, nav="features", definition=definition, values=values, row=row)


@router.post("/features/{kind}/{name}/materialize")
async def materialize(request: Request, kind: str, name: str) -> Response:
    session, _ = await posted(request)
    await run_in_threadpool(session.view.features.materialize, [name])
    return see_other("features", kind, name)


@router.get("/features/{kind}/{name}")
def definition(request: Request, session: Signed, kind: str, name: str) -> Response:
    if kind not in KINDS:
        raise InvalidArgument(f"kind is one of {', '.join(KINDS)}", kind=kind[:50])
    features = session.view.features
    found = features.get_definition(kind, name)
    status = features.get_view_status(name) if kind == "feature_view" else None
    keys = _join_keys(session.view, found) if kind == "feature_view" else []
    owner = getattr(found, "owner", None) or ""
    return page(
        request,
        "features/definition.html",
        nav="features",
        kind=kind,
        d=found,
        view_status=status,
        keys=keys,
        can_write=bool(owner) and session.can("write", owner),
        can_lookup=bool(owner) and session.can("read_features", owner),
    )
