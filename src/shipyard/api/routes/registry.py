"""Registry routes: parse, call one service method, serialise."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import PageSize, Version
from shipyard.registry.models import (
    AliasEvent,
    AliasPolicy,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
)

router = APIRouter(prefix="/registry", tags=["registry"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateModel(_Body):
    name: str
    description: str | None = None
    tags: dict[str, str] | None = None
    owner: str | None = None


class UpdateModel(_Body):
    description: str | None = None
    tags: dict[str, str] | None = None
    delete_tags: list[str] | None = None


class CreateVersion(_Body):
    source: str
    run_id: str | None = None
    description: str | None = None
    tags: dict[str, str] | None = None
    owner: str | None = None


class SetAlias(_Body):
    version: Version
    comment: str | None = None


class Decision(_Body):
    comment: str | None = None


class Policy(_Body):
    name: str = "*"
    protected: bool = True
    require_signature: bool = False
    metric: str | None = None
    min_value: float | None = None


@router.post("/models", status_code=201)
def create_model(platform: Caller, body: CreateModel) -> RegisteredModel:
    return platform.registry.create_registered_model(
        body.name, description=body.description, tags=body.tags, owner=body.owner
    )


@router.get("/models")
def list_models(
    platform: Caller,
    name_like: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[RegisteredModel]:
    return platform.registry.list_registered_models(
        name_like=name_like, limit=limit, page_token=page_token
    )


@router.get("/models/{name}")
def get_model(platform: Caller, name: str) -> RegisteredModel:
    return platform.registry.get_registered_model(name)


@router.patch("/models/{name}")
def update_model(platform: Caller, name: str, body: UpdateModel) -> RegisteredModel:
    return platform.registry.update_registered_model(
        name, description=body.description, tags=body.tags, delete_tags=body.delete_tags
    )


@router.delete("/models/{name}", status_code=204)
def delete_model(platform: Caller, name: str) -> None:
    platform.registry.delete_registered_model(name)


@router.post("/models/{name}/versions", status_code=201)
def register_model(platform: Caller, name: str, body: CreateVersion) -> ModelVersion:
    return platform.registry.register_model(
        name,
        body.source,
        run_id=body.run_id,
        description=body.description,
        tags=body.tags,
        owner=body.owner,
    )


@router.get("/models/{name}/versions")
def list_versions(
    platform: Caller, name: str, limit: PageSize | None = None, page_token: str | None = None
) -> Page[ModelVersion]:
    return platform.registry.list_model_versions(name, limit=limit, page_token=page_token)


@router.get("/versions")
def list_all_versions(
    platform: Caller,
    run_id: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[ModelVersion]:
    return platform.registry.list_model_versions(
        None, run_id=run_id, limit=limit, page_token=page_token
    )


@router.get("/models/{name}/versions/{version}")
def get_version(platform: Caller, name: str, version: Version) -> ModelVersion:
    return platform.registry.get_model_version(name, version)


@router.patch("/models/{name}/versions/{version}")
def update_version(
    platform: Caller, name: str, version: Version, body: UpdateModel
) -> ModelVersion:
    return platform.registry.update_model_version(
        name, version, description=body.description, tags=body.tags, delete_tags=body.delete_tags
    )


@router.delete("/models/{name}/versions/{version}", status_code=204)
def delete_version(platform: Caller, name: str, version: Version) -> None:
    platform.registry.delete_model_version(name, version)


@router.get("/models/{name}/versions/{version}/files")
def list_files(
    platform: Caller,
    name: str,
    version: Version,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[str]:
    return platform.registry.list_model_files(name, version, limit=limit, page_token=page_token)


@router.get("/models/{name}/versions/{version}/files/content")
def read_file(platform: Caller, name: str, version: Version, path: str) -> Response:
    data = platform.registry.read_model_file(name, version, path)
    return Response(data, media_type="application/octet-stream")


@router.put("/models/{name}/aliases/{alias}")
def set_alias(platform: Caller, name: str, alias: str, body: SetAlias) -> PromotionRequest:
    return platform.registry.set_alias(name, alias, body.version, comment=body.comment)


@router.get("/models/{name}/aliases/{alias}")
def get_by_alias(platform: Caller, name: str, alias: str) -> ModelVersion:
    return platform.registry.get_model_version_by_alias(name, alias)


@router.delete("/models/{name}/aliases/{alias}", status_code=204)
def delete_alias(platform: Caller, name: str, alias: str) -> None:
    platform.registry.delete_alias(name, alias)


@router.get("/models/{name}/alias-history")
def alias_history(platform: Caller, name: str, alias: str | None = None) -> list[AliasEvent]:
    return platform.registry.alias_history(name, alias)


@router.get("/models/{name}/policies/{alias}")
def get_policy(platform: Caller, name: str, alias: str) -> AliasPolicy:
    return platform.registry.get_alias_policy(name, alias)


@router.put("/policies/{alias}")
def set_policy(platform: Caller, alias: str, body: Policy) -> AliasPolicy:
    return platform.registry.set_alias_policy(
        alias,
        name=body.name,
        protected=body.protected,
        require_signature=body.require_signature,
        metric=body.metric,
        min_value=body.min_value,
    )


@router.get("/promotions")
def list_promotions(
    platform: Caller,
    name: str | None = None,
    status: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[PromotionRequest]:
    return platform.registry.list_promotions(
        name=name, status=status, limit=limit, page_token=page_token
    )


@router.get("/promotions/{request_id}")
def get_promotion(platform: Caller, request_id: str) -> PromotionRequest:
    return platform.registry.get_promotion(request_id)


@router.post("/promotions/{request_id}/approve")
def approve(platform: Caller, request_id: str, body: Decision) -> PromotionRequest:
    return platform.registry.approve_promotion(request_id, comment=body.comment)


@router.post("/promotions/{request_id}/reject")
def reject(platform: Caller, request_id: str, body: Decision) -> PromotionRequest:
    return platform.registry.reject_promotion(request_id, comment=body.comment)


@router.get("/resolve")
def resolve(platform: Caller, uri: str) -> ModelVersion:
    return platform.registry.resolve(uri)
