"""Catalog routes: parse, call one service method, serialise."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import PageSize
from shipyard.catalog.models import Asset, AssetVersion, LineageGraph
from shipyard.catalog.service import MAX_DEPTH

router = APIRouter(prefix="/catalog", tags=["catalog"])


class RegisterAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=3, description="kind:name[@version]")
    owner: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    properties: dict[str, Any] | None = None
    sources: list[str] | None = None
    operation: str = "derived"


class UpdateAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    owner: str | None = None
    tags: list[str] | None = None
    properties: dict[str, Any] | None = None


@router.get("/assets")
def search_assets(
    platform: Caller,
    q: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    owner: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[Asset]:
    return platform.catalog.search(
        q, kind=kind, tag=tag, owner=owner, limit=limit, page_token=page_token
    )


@router.get("/counts")
def counts(platform: Caller) -> dict[str, dict[str, int]]:
    """Assets per team and kind, over the teams the caller may read (the UI's scorecard)."""
    return platform.catalog.counts()


@router.post("/assets", status_code=201)
def register_asset(platform: Caller, body: RegisterAsset) -> Asset:
    return platform.catalog.register_asset(
        body.ref,
        owner=body.owner,
        description=body.description,
        tags=body.tags,
        properties=body.properties,
        sources=body.sources,
        operation=body.operation,
    )


# ``{ref:path}`` lets a name hold "/"; the longer paths are declared first so
# that ``.../versions`` and ``.../lineage`` are not read as part of a name.
@router.get("/assets/{ref:path}/versions")
def list_versions(
    platform: Caller, ref: str, limit: PageSize | None = None, page_token: str | None = None
) -> Page[AssetVersion]:
    return platform.catalog.list_versions(ref, limit=limit, page_token=page_token)


@router.get("/assets/{ref:path}/lineage")
def lineage(
    platform: Caller,
    ref: str,
    direction: Literal["upstream", "downstream"] = "upstream",
    depth: int = Query(5, ge=1, le=MAX_DEPTH),
) -> LineageGraph:
    return platform.catalog.lineage(ref, direction=direction, depth=depth)


@router.get("/assets/{ref:path}")
def get_asset(platform: Caller, ref: str) -> Asset:
    return platform.catalog.get_asset(ref)


@router.patch("/assets/{ref:path}")
def update_asset(platform: Caller, ref: str, body: UpdateAsset) -> Asset:
    return platform.catalog.update_asset(
        ref,
        description=body.description,
        owner=body.owner,
        tags=body.tags,
        properties=body.properties,
    )
