"""Tracking routes: parse, call one service method, serialise.

The MLflow REST API (``/api/2.0/mlflow/...``) is ``shipyard.api.mlflow``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import Millis, PageSize
from shipyard.tracking.models import (
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    Run,
    RunComparison,
    RunInput,
)

router = APIRouter(prefix="/tracking", tags=["tracking"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateExperiment(_Body):
    name: str
    owner: str | None = None
    tags: dict[str, str] | None = None


class UpdateExperiment(_Body):
    name: str | None = None
    tags: dict[str, str] | None = None
    lifecycle_stage: str | None = None


class CreateRun(_Body):
    experiment: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    tags: dict[str, str] | None = None
    parent_run_id: str | None = None
    start_time: Millis | None = None
    user: str | None = None


class UpdateRun(_Body):
    status: str | None = None
    end_time: Millis | None = None
    run_name: str | None = None


class LogBatch(_Body):
    metrics: list[dict[str, Any]] = Field(default_factory=list)
    params: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None


class LogInput(_Body):
    ref: str
    context: str = "training"
    digest: str | None = None


class SearchRuns(_Body):
    experiments: list[str] | None = None
    filter: str | None = None
    order_by: list[str] | None = None
    view: str = "active"
    limit: PageSize | None = None
    page_token: str | None = None


class CompareRuns(_Body):
    run_ids: list[str]


class RecordModel(_Body):
    artifact_path: str = "model"


class Written(BaseModel):
    metrics_written: int


@router.post("/experiments", status_code=201)
def create_experiment(platform: Caller, body: CreateExperiment) -> Experiment:
    return platform.tracking.create_experiment(body.name, owner=body.owner, tags=body.tags)


@router.get("/experiments")
def list_experiments(
    platform: Caller,
    name_like: str | None = None,
    view: str = "active",
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[Experiment]:
    return platform.tracking.list_experiments(
        name_like=name_like, view=view, limit=limit, page_token=page_token
    )


@router.get("/experiments/by-name/{name}")
def get_experiment_by_name(platform: Caller, name: str) -> Experiment:
    return platform.tracking.get_experiment_by_name(name)


@router.get("/experiments/{experiment_id}")
def get_experiment(platform: Caller, experiment_id: str) -> Experiment:
    return platform.tracking.get_experiment(experiment_id)


@router.patch("/experiments/{experiment_id}")
def update_experiment(platform: Caller, experiment_id: str, body: UpdateExperiment) -> Experiment:
    return platform.tracking.update_experiment(
        experiment_id, name=body.name, tags=body.tags, lifecycle_stage=body.lifecycle_stage
    )


@router.post("/runs", status_code=201)
def create_run(platform: Caller, body: CreateRun) -> Run:
    return platform.tracking.create_run(
        body.experiment,
        experiment_id=body.experiment_id,
        run_name=body.run_name,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
        start_time=body.start_time,
        user=body.user,
    )


@router.post("/runs/search")
def search_runs(platform: Caller, body: SearchRuns) -> Page[Run]:
    return platform.tracking.search_runs(
        body.experiments,
        filter=body.filter,
        order_by=body.order_by,
        view=body.view,
        limit=body.limit,
        page_token=body.page_token,
    )


@router.post("/runs/compare")
def compare_runs(platform: Caller, body: CompareRuns) -> RunComparison:
    return platform.tracking.compare_runs(body.run_ids)


@router.get("/runs/{run_id}")
def get_run(platform: Caller, run_id: str) -> Run:
    return platform.tracking.get_run(run_id)


@router.patch("/runs/{run_id}")
def update_run(platform: Caller, run_id: str, body: UpdateRun) -> Run:
    return platform.tracking.update_run(
        run_id, status=body.status, end_time=body.end_time, run_name=body.run_name
    )


@router.delete("/runs/{run_id}")
def delete_run(platform: Caller, run_id: str) -> Run:
    return platform.tracking.set_run_lifecycle(run_id, "deleted")


@router.post("/runs/{run_id}/restore")
def restore_run(platform: Caller, run_id: str) -> Run:
    return platform.tracking.set_run_lifecycle(run_id, "active")


@router.post("/runs/{run_id}/log")
def log_batch(platform: Caller, run_id: str, body: LogBatch) -> Written:
    n = platform.tracking.log_batch(
        run_id, metrics=body.metrics, params=body.params, tags=body.tags
    )
    return Written(metrics_written=n)


@router.delete("/runs/{run_id}/tags/{key:path}", status_code=204)
def delete_tag(platform: Caller, run_id: str, key: str) -> None:
    platform.tracking.delete_tag(run_id, key)


@router.get("/runs/{run_id}/metrics/{key:path}/history")
def metric_history(platform: Caller, run_id: str, key: str) -> list[Metric]:
    return platform.tracking.get_metric_history(run_id, key)


@router.post("/runs/{run_id}/inputs", status_code=201)
def log_input(platform: Caller, run_id: str, body: LogInput) -> RunInput:
    return platform.tracking.log_input(run_id, body.ref, context=body.context, digest=body.digest)


@router.get("/runs/{run_id}/artifacts")
def list_artifacts(
    platform: Caller,
    run_id: str,
    path: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[FileInfo]:
    return platform.tracking.list_artifacts(run_id, path, limit=limit, page_token=page_token)


@router.get("/runs/{run_id}/artifacts/content")
def read_artifact(platform: Caller, run_id: str, path: str) -> Response:
    data = platform.tracking.read_artifact(run_id, path)
    return Response(data, media_type="application/octet-stream")


@router.put("/runs/{run_id}/artifacts/content")
async def put_artifact(
    platform: Caller, run_id: str, path: str, request: Request
) -> dict[str, str]:
    data = await request.body()
    from starlette.concurrency import run_in_threadpool

    rel = await run_in_threadpool(platform.tracking.put_artifact, run_id, path, data)
    return {"path": rel}


@router.post("/runs/{run_id}/models", status_code=201)
def record_model(platform: Caller, run_id: str, body: RecordModel) -> LoggedModel:
    return platform.tracking.record_model(run_id, body.artifact_path)


@router.get("/logged-models/{model_id}")
def get_logged_model(platform: Caller, model_id: str) -> LoggedModel:
    return platform.tracking.get_logged_model(model_id)
