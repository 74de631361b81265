"""Registry routes: parse, call one service method, serialise."""

from __future__ import annotations

from typing import Any

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


# -- the MLflow model registry REST API (``/api/2.0/mlflow/registered-models``, ...) ----------

from shipyard.api.routes.mlflow_compat import (  # noqa: E402
    V2,
    Args,
    MlflowJSON,
    MlflowRoute,
    _page_size,
    _req,
    _tags,
)
from shipyard.errors import InvalidArgument, PermissionDenied  # noqa: E402
from shipyard.tracking import mlflow_wire as wire  # noqa: E402

root_router = APIRouter(
    route_class=MlflowRoute,
    default_response_class=MlflowJSON,
    tags=["mlflow"],  # listed in the OpenAPI document: part of the API reference
)
_RM = f"{V2}/registered-models"
_MV = f"{V2}/model-versions"


def _version(args: dict[str, Any]) -> int:
    return wire.int_in(_req(args, "version"), "version", lo=0, hi=2**53)


def _rm(platform: Any, name: str) -> dict[str, Any]:
    model = platform.registry.get_registered_model(name)
    latest = []
    if model.latest_version is not None:
        latest = [platform.registry.get_model_version(name, model.latest_version)]
    return wire.registered_model(model, latest)


@root_router.post(f"{_RM}/create")
def mlflow_create_model(platform: Caller, args: Args) -> dict[str, Any]:
    name = _req(args, "name")
    platform.registry.create_registered_model(
        name, description=args.get("description"), tags=_tags(args.get("tags"))
    )
    return {"registered_model": _rm(platform, name)}


@root_router.get(f"{_RM}/get")
def mlflow_get_model(platform: Caller, args: Args) -> dict[str, Any]:
    return {"registered_model": _rm(platform, _req(args, "name"))}


@root_router.get(f"{_RM}/search")
def mlflow_search_models(platform: Caller, args: Args) -> dict[str, Any]:
    flt = str(args.get("filter") or "")
    name_like = None
    if flt:
        op = "ILIKE" if "ILIKE" in flt.upper() else ("LIKE" if "LIKE" in flt.upper() else "=")
        if op not in flt.upper():
            raise InvalidArgument("filter: only name = / LIKE / ILIKE are supported")
        name_like = flt[flt.upper().index(op) + len(op) :].strip().strip("'\"")
    page = platform.registry.list_registered_models(
        name_like=name_like,
        limit=_page_size(args, 100),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"registered_models": [_rm(platform, m.name) for m in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@root_router.patch(f"{_RM}/update")
def mlflow_update_model(platform: Caller, args: Args) -> dict[str, Any]:
    name = _req(args, "name")
    platform.registry.update_registered_model(name, description=args.get("description"))
    return {"registered_model": _rm(platform, name)}


@root_router.delete(f"{_RM}/delete")
def mlflow_delete_model(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_registered_model(_req(args, "name"))
    return {}


@root_router.post(f"{_RM}/set-tag")
def mlflow_set_model_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_registered_model(
        _req(args, "name"), tags={_req(args, "key"): str(args.get("value", ""))}
    )
    return {}


@root_router.delete(f"{_RM}/delete-tag")
def mlflow_delete_model_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_registered_model(_req(args, "name"), delete_tags=[_req(args, "key")])
    return {}


@root_router.post(f"{_RM}/get-latest-versions")
def mlflow_latest_versions(platform: Caller, args: Args) -> dict[str, Any]:
    model = platform.registry.get_registered_model(_req(args, "name"))
    versions = []
    if model.latest_version is not None:
        versions = [platform.registry.get_model_version(model.name, model.latest_version)]
    return {"model_versions": [wire.model_version(v) for v in versions]}


@root_router.post(f"{_RM}/alias")
def mlflow_set_alias(platform: Caller, args: Args) -> dict[str, Any]:
    request = platform.registry.set_alias(_req(args, "name"), _req(args, "alias"), _version(args))
    if request.pending:
        raise PermissionDenied(
            f"alias '{request.alias}' is protected: promotion request {request.id} awaits "
            "approval by another principal (shipyard models approve)",
            request_id=request.id,
        )
    return {}


@root_router.delete(f"{_RM}/alias")
def mlflow_delete_alias(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_alias(_req(args, "name"), _req(args, "alias"))
    return {}


@root_router.get(f"{_RM}/alias")
def mlflow_get_by_alias(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version_by_alias(_req(args, "name"), _req(args, "alias"))
    return {"model_version": wire.model_version(mv)}


@root_router.post(f"{_MV}/create")
def mlflow_create_version(platform: Caller, args: Args) -> dict[str, Any]:
    source = _req(args, "source")
    if args.get("model_id"):
        source = f"models:/{args['model_id']}"
    mv = platform.registry.register_model(
        _req(args, "name"),
        source,
        run_id=args.get("run_id") or None,
        description=args.get("description"),
        tags=_tags(args.get("tags")),
    )
    return {"model_version": wire.model_version(mv)}


@root_router.get(f"{_MV}/get")
def mlflow_get_version(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version(_req(args, "name"), _version(args))
    return {"model_version": wire.model_version(mv)}


@root_router.get(f"{_MV}/search")
def mlflow_search_versions(platform: Caller, args: Args) -> dict[str, Any]:
    flt = str(args.get("filter") or "")
    name = run_id = None
    for part in flt.split(" and ") if flt else []:
        key, _, value = part.partition("=")
        value = value.strip().strip("'\"")
        if key.strip() == "name":
            name = value
        elif key.strip() == "run_id":
            run_id = value
    page = platform.registry.list_model_versions(
        name,
        run_id=run_id,
        limit=_page_size(args, 1000),
        page_token=args.get("page_token") or None,
    )
    return {"model_versions": [wire.model_version(v) for v in page.items]}


@root_router.patch(f"{_MV}/update")
def mlflow_update_version(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.update_model_version(
        _req(args, "name"), _version(args), description=args.get("description")
    )
    return {"model_version": wire.model_version(mv)}


@root_router.delete(f"{_MV}/delete")
def mlflow_delete_version(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_model_version(_req(args, "name"), _version(args))
    return {}


@root_router.post(f"{_MV}/set-tag")
def mlflow_set_version_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_model_version(
        _req(args, "name"), _version(args), tags={_req(args, "key"): str(args.get("value", ""))}
    )
    return {}


@root_router.delete(f"{_MV}/delete-tag")
def mlflow_delete_version_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_model_version(
        _req(args, "name"), _version(args), delete_tags=[_req(args, "key")]
    )
    return {}


@root_router.get(f"{_MV}/get-download-uri")
def mlflow_download_uri(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version(_req(args, "name"), _version(args))
    return {"artifact_uri": wire.artifact_uri(mv.storage_location)}
