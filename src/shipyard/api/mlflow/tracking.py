"""The MLflow tracking REST API: server info, experiments, runs, logged models, artifacts.

Each handler reads MLflow's JSON (``wire``), calls one service method and answers
in MLflow's shapes.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

import shipyard
from shipyard.api.deps import Caller
from shipyard.api.mlflow import wire
from shipyard.api.mlflow.base import ART, MLFLOW_VERSION, V2, V3, Args, mlflow_router
from shipyard.api.mlflow.wire import as_list as _list
from shipyard.api.mlflow.wire import page_size as _page_size
from shipyard.api.mlflow.wire import req as _req
from shipyard.api.mlflow.wire import tags_in as _tags
from shipyard.api.mlflow.wire import view as _view
from shipyard.errors import InvalidArgument
from shipyard.tracking.search import attribute_conditions

router = mlflow_router()

#: What experiment search can filter on (the service takes a name pattern).
_EXPERIMENT_FILTER = {"name": frozenset({"=", "like", "ilike"})}


# -- server --------------------------------------------------------------------------------


@router.get("/version")
def version() -> Response:
    return Response(MLFLOW_VERSION, media_type="text/plain")


@router.get("/health")
def health() -> Response:
    return Response("OK", media_type="text/plain")


@router.get(f"{V3}/server-info")
def server_info() -> dict[str, Any]:
    return {
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "trace_archival_enabled": False,
        "shipyard_version": shipyard.__version__,
    }


@router.get(f"{V3}/server-features")
def server_features() -> dict[str, Any]:
    return {"features": []}


# -- experiments ------------------------------------------------------------------------------


@router.post(f"{V2}/experiments/create")
def create_experiment(platform: Caller, args: Args) -> dict[str, Any]:
    exp = platform.tracking.create_experiment(_req(args, "name"), tags=_tags(args.get("tags")))
    return {"experiment_id": exp.id}


@router.get(f"{V2}/experiments/get")
def get_experiment(platform: Caller, args: Args) -> dict[str, Any]:
    return {
        "experiment": wire.experiment(
            platform.tracking.get_experiment(str(_req(args, "experiment_id")))
        )
    }


@router.get(f"{V2}/experiments/get-by-name")
def get_experiment_by_name(platform: Caller, args: Args) -> dict[str, Any]:
    name = _req(args, "experiment_name")
    return {"experiment": wire.experiment(platform.tracking.get_experiment_by_name(name))}


@router.post(f"{V2}/experiments/search")
def search_experiments(platform: Caller, args: Args) -> dict[str, Any]:
    conditions = attribute_conditions(
        args.get("filter"), _EXPERIMENT_FILTER, what="experiment search"
    )
    page = platform.tracking.list_experiments(
        name_like=conditions[0].value if conditions else None,
        view=_view(args.get("view_type")),
        limit=_page_size(args, 1000),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"experiments": [wire.experiment(e) for e in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@router.post(f"{V2}/experiments/update")
def update_experiment(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.update_experiment(str(_req(args, "experiment_id")), name=args.get("new_name"))
    return {}


@router.post(f"{V2}/experiments/delete")
def delete_experiment(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.update_experiment(str(_req(args, "experiment_id")), lifecycle_stage="deleted")
    return {}


@router.post(f"{V2}/experiments/restore")
def restore_experiment(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.update_experiment(str(_req(args, "experiment_id")), lifecycle_stage="active")
    return {}


@router.post(f"{V2}/experiments/set-experiment-tag")
def set_experiment_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.update_experiment(
        str(_req(args, "experiment_id")), tags={_req(args, "key"): str(args.get("value", ""))}
    )
    return {}


# -- runs ---------------------------------------------------------------------------------------


@router.post(f"{V2}/runs/create")
def create_run(platform: Caller, args: Args) -> dict[str, Any]:
    tags = _tags(args.get("tags"))
    run = platform.tracking.create_run(
        experiment_id=str(args.get("experiment_id") or "0"),
        run_name=args.get("run_name") or None,
        tags=tags,
        parent_run_id=tags.get("mlflow.parentRunId"),
        start_time=wire.int_in(args["start_time"], "start_time")
        if args.get("start_time")
        else None,
        user=args.get("user_id") or None,
    )
    return {"run": wire.run(run)}


def _run_id(args: dict[str, Any]) -> str:
    return str(args.get("run_id") or _req(args, "run_uuid"))


@router.get(f"{V2}/runs/get")
def get_run(platform: Caller, args: Args) -> dict[str, Any]:
    return {"run": wire.run(platform.tracking.get_run(_run_id(args)))}


@router.post(f"{V2}/runs/update")
def update_run(platform: Caller, args: Args) -> dict[str, Any]:
    run = platform.tracking.update_run(
        _run_id(args),
        status=args.get("status") or None,
        end_time=wire.int_in(args["end_time"], "end_time") if args.get("end_time") else None,
        run_name=args.get("run_name") or None,
    )
    return {"run_info": wire.run(run)["info"]}


@router.post(f"{V2}/runs/delete")
def delete_run(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.set_run_lifecycle(_run_id(args), "deleted")
    return {}


@router.post(f"{V2}/runs/restore")
def restore_run(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.set_run_lifecycle(_run_id(args), "active")
    return {}


@router.post(f"{V2}/runs/log-metric")
def log_metric(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.log_batch(_run_id(args), metrics=[wire.metric_in(args)])
    return {}


@router.post(f"{V2}/runs/log-parameter")
def log_param(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.log_batch(_run_id(args), params={_req(args, "key"): args.get("value", "")})
    return {}


@router.post(f"{V2}/runs/set-tag")
def set_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.set_tags(_run_id(args), {_req(args, "key"): args.get("value", "")})
    return {}


@router.post(f"{V2}/runs/delete-tag")
def delete_tag(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.delete_tag(_run_id(args), _req(args, "key"))
    return {}


@router.post(f"{V2}/runs/log-batch")
def log_batch(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.log_batch(
        _run_id(args),
        metrics=[wire.metric_in(m) for m in _list(args.get("metrics"))],
        params=_tags(args.get("params"), "params"),
        tags=_tags(args.get("tags")),
    )
    return {}


@router.post(f"{V2}/runs/log-inputs")
def log_inputs(platform: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(args)
    for item in _list(args.get("datasets")):
        ds = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(ds, dict):
            raise InvalidArgument("each of 'datasets' must be an object with a 'dataset' object")
        context = _tags(item.get("tags")).get("mlflow.data.context") or "training"
        props = {k: ds[k] for k in ("source_type", "source", "schema", "profile") if k in ds}
        platform.tracking.log_dataset(
            run_id, _req(ds, "name"), digest=ds.get("digest"), context=context, properties=props
        )
    return {}


@router.post(f"{V2}/runs/outputs")
def log_outputs(platform: Caller, args: Args) -> dict[str, Any]:
    run_id = _run_id(args)
    for item in _list(args.get("models")):
        platform.tracking.update_logged_model(_req(item, "model_id"), run_id=run_id)
    return {}


@router.post(f"{V2}/runs/log-model")
def log_model_history(platform: Caller, args: Args) -> dict[str, Any]:
    platform.tracking.set_tags(
        _run_id(args), {"mlflow.log-model.history": str(args.get("model_json", ""))[:8000]}
    )
    return {}


@router.post(f"{V2}/runs/search")
def search_runs(platform: Caller, args: Args) -> dict[str, Any]:
    page = platform.tracking.search_runs(
        [str(e) for e in _list(args.get("experiment_ids"))],
        filter=args.get("filter") or None,
        order_by=_list(args.get("order_by")) or None,
        view=_view(args.get("run_view_type")),
        limit=_page_size(args, 1000),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"runs": [wire.run(r) for r in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@router.get(f"{V2}/metrics/get-history")
def metric_history(platform: Caller, args: Args) -> dict[str, Any]:
    history = platform.tracking.get_metric_history(_run_id(args), _req(args, "metric_key"))
    return {"metrics": [wire.metric(m) for m in history]}


# -- logged models (MLflow 3) -----------------------------------------------------------------


@router.post(f"{V2}/logged-models")
def create_logged_model(platform: Caller, args: Args) -> dict[str, Any]:
    m = platform.tracking.create_logged_model(
        str(_req(args, "experiment_id")),
        name=args.get("name") or "model",
        source_run_id=args.get("source_run_id") or None,
        model_type=args.get("model_type"),
        tags=_tags(args.get("tags")),
        params=_tags(args.get("params"), "params"),
    )
    return {"model": wire.logged_model(m)}


@router.post(f"{V2}/logged-models/search")
def search_logged_models(platform: Caller, args: Args) -> dict[str, Any]:
    page = platform.tracking.search_logged_models(
        [str(e) for e in _list(args.get("experiment_ids"))],
        limit=_page_size(args, 100),
        page_token=args.get("page_token") or None,
    )
    out: dict[str, Any] = {"models": [wire.logged_model(m) for m in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


@router.get(f"{V2}/logged-models/{{model_id}}")
def get_logged_model(platform: Caller, model_id: str) -> dict[str, Any]:
    return {"model": wire.logged_model(platform.tracking.get_logged_model(model_id))}


@router.patch(f"{V2}/logged-models/{{model_id}}")
def finalize_logged_model(platform: Caller, model_id: str, args: Args) -> dict[str, Any]:
    status = {
        "LOGGED_MODEL_READY": "READY",
        "LOGGED_MODEL_UPLOAD_FAILED": "FAILED",
        "LOGGED_MODEL_PENDING": "PENDING",
    }.get(str(args.get("status")), "READY")
    return {
        "model": wire.logged_model(platform.tracking.update_logged_model(model_id, status=status))
    }


@router.patch(f"{V2}/logged-models/{{model_id}}/tags")
def set_logged_model_tags(platform: Caller, model_id: str, args: Args) -> dict[str, Any]:
    platform.tracking.update_logged_model(model_id, tags=_tags(args.get("tags")))
    return {}


@router.delete(f"{V2}/logged-models/{{model_id}}/tags/{{key}}")
def delete_logged_model_tag(platform: Caller, model_id: str, key: str) -> dict[str, Any]:
    platform.tracking.update_logged_model(model_id, delete_tag=key)
    return {}


@router.post(f"{V2}/logged-models/{{model_id}}/params")
def log_logged_model_params(platform: Caller, model_id: str, args: Args) -> dict[str, Any]:
    platform.tracking.update_logged_model(model_id, params=_tags(args.get("params")))
    return {}


# -- artifacts proxy -----------------------------------------------------------------------------


@router.get(f"{ART}/artifacts")
def list_artifacts(platform: Caller, args: Args) -> dict[str, Any]:
    files = platform.tracking.proxy_list(str(args.get("path") or ""))
    return {
        "files": [
            {
                "path": f.path,
                "is_dir": f.is_dir,
                **({"file_size": f.file_size} if f.file_size is not None else {}),
            }
            for f in files
        ]
    }


@router.get(f"{ART}/artifacts/{{path:path}}")
def download_artifact(platform: Caller, path: str) -> Response:
    return Response(platform.tracking.proxy_get(path), media_type="application/octet-stream")


@router.put(f"{ART}/artifacts/{{path:path}}")
async def upload_artifact(platform: Caller, path: str, request: Request) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    data = await request.body()
    await run_in_threadpool(platform.tracking.proxy_put, path, data)
    return {}
