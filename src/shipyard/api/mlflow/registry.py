"""The MLflow model registry REST API: registered models, versions, aliases.

Each handler reads MLflow's JSON (``wire``), calls the registry service and
answers in MLflow's shapes. Filters are parsed by ``shipyard.tracking.search``.
"""

from __future__ import annotations

from typing import Any

from shipyard.api.deps import Caller
from shipyard.api.mlflow import wire
from shipyard.api.mlflow.base import V2, Args, mlflow_router
from shipyard.api.mlflow.wire import page_size as _page_size
from shipyard.api.mlflow.wire import req as _req
from shipyard.api.mlflow.wire import tags_in as _tags
from shipyard.api.mlflow.wire import version_in as _version
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.platform import Platform
from shipyard.registry.models import RegisteredModel
from shipyard.tracking.search import attribute_conditions

router = mlflow_router()
_MODEL_FILTER = {"name": frozenset({"=", "like", "ilike"})}
#: MLflow's prompt registry is not served, so no model is a prompt: the clause the
#: stock client adds to every model search holds for all of them.
_PROMPT_TAG = "mlflow.prompt.is_prompt"
_NOT_PROMPTS = frozenset({("tag", _PROMPT_TAG, "!=", "true")})


def _no_prompt(tags: dict[str, str]) -> dict[str, str]:
    if str(tags.get(_PROMPT_TAG, "")).lower() == "true":
        raise InvalidArgument("MLflow prompts are not supported by this server", tag=_PROMPT_TAG)
    return tags


_VERSION_FILTER = {"name": frozenset({"="}), "run_id": frozenset({"="})}

_RM = f"{V2}/registered-models"
_MV = f"{V2}/model-versions"


def _rms(platform: Platform, models: list[RegisteredModel]) -> list[dict[str, Any]]:
    """Models in MLflow's shape with their latest version: one service call for them all."""
    latest = platform.registry.latest_versions([m.name for m in models])
    return [wire.registered_model(m, [latest[m.name]] if m.name in latest else []) for m in models]


def _rm(platform: Platform, model: RegisteredModel) -> dict[str, Any]:
    return _rms(platform, [model])[0]


@router.post(f"{_RM}/create")
def mlflow_create_model(platform: Caller, args: Args) -> dict[str, Any]:
    model = platform.registry.create_registered_model(
        _req(args, "name"),
        description=args.get("description"),
        tags=_no_prompt(_tags(args.get("tags"))),
    )
    return {"registered_model": _rm(platform, model)}


@router.get(f"{_RM}/get")
def mlflow_get_model(platform: Caller, args: Args) -> dict[str, Any]:
    model = platform.registry.get_registered_model(_req(args, "name"))
    return {"registered_model": _rm(platform, model)}


@router.get(f"{_RM}/search")
def mlflow_search_models(platform: Caller, args: Args) -> dict[str, Any]:
    conditions = attribute_conditions(
        args.get("filter"), _MODEL_FILTER, what="model search", always_true=_NOT_PROMPTS
    )
    page = platform.registry.list_registered_models(
        name_like=conditions[0].value if conditions else None,
        limit=_page_size(args, 100),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"registered_models": _rms(platform, page.items)}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@router.patch(f"{_RM}/update")
def mlflow_update_model(platform: Caller, args: Args) -> dict[str, Any]:
    model = platform.registry.update_registered_model(
        _req(args, "name"), description=args.get("description")
    )
    return {"registered_model": _rm(platform, model)}


@router.delete(f"{_RM}/delete")
def mlflow_delete_model(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_registered_model(_req(args, "name"))
    return {}


@router.post(f"{_RM}/set-tag")
def mlflow_set_model_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_registered_model(
        _req(args, "name"), tags=_no_prompt({_req(args, "key"): str(args.get("value", ""))})
    )
    return {}


@router.delete(f"{_RM}/delete-tag")
def mlflow_delete_model_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_registered_model(_req(args, "name"), delete_tags=[_req(args, "key")])
    return {}


@router.post(f"{_RM}/get-latest-versions")
def mlflow_latest_versions(platform: Caller, args: Args) -> dict[str, Any]:
    model = platform.registry.get_registered_model(_req(args, "name"))
    latest = platform.registry.latest_versions([model.name])
    return {"model_versions": [wire.model_version(v) for v in latest.values()]}


@router.post(f"{_RM}/alias")
def mlflow_set_alias(platform: Caller, args: Args) -> dict[str, Any]:
    request = platform.registry.set_alias(_req(args, "name"), _req(args, "alias"), _version(args))
    if request.pending:
        raise PermissionDenied(
            f"alias '{request.alias}' is protected: promotion request {request.id} awaits "
            "approval by another principal (shipyard models approve)",
            request_id=request.id,
        )
    return {}


@router.delete(f"{_RM}/alias")
def mlflow_delete_alias(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_alias(_req(args, "name"), _req(args, "alias"))
    return {}


@router.get(f"{_RM}/alias")
def mlflow_get_by_alias(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version_by_alias(_req(args, "name"), _req(args, "alias"))
    return {"model_version": wire.model_version(mv)}


@router.post(f"{_MV}/create")
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


@router.get(f"{_MV}/get")
def mlflow_get_version(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version(_req(args, "name"), _version(args))
    return {"model_version": wire.model_version(mv)}


@router.get(f"{_MV}/search")
def mlflow_search_versions(platform: Caller, args: Args) -> dict[str, Any]:
    conditions = attribute_conditions(args.get("filter"), _VERSION_FILTER, what="version search")
    by_key = {c.ident.key: c.value for c in conditions}
    page = platform.registry.list_model_versions(
        by_key.get("name"),
        run_id=by_key.get("run_id"),
        limit=_page_size(args, 1000),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"model_versions": [wire.model_version(v) for v in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@router.patch(f"{_MV}/update")
def mlflow_update_version(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.update_model_version(
        _req(args, "name"), _version(args), description=args.get("description")
    )
    return {"model_version": wire.model_version(mv)}


@router.delete(f"{_MV}/delete")
def mlflow_delete_version(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.delete_model_version(_req(args, "name"), _version(args))
    return {}


@router.post(f"{_MV}/set-tag")
def mlflow_set_version_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_model_version(
        _req(args, "name"), _version(args), tags={_req(args, "key"): str(args.get("value", ""))}
    )
    return {}


@router.delete(f"{_MV}/delete-tag")
def mlflow_delete_version_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.registry.update_model_version(
        _req(args, "name"), _version(args), delete_tags=[_req(args, "key")]
    )
    return {}


@router.get(f"{_MV}/get-download-uri")
def mlflow_download_uri(platform: Caller, args: Args) -> dict[str, Any]:
    mv = platform.registry.get_model_version(_req(args, "name"), _version(args))
    return {"artifact_uri": wire.artifact_uri(mv.storage_location)}
