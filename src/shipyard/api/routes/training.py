"""Training routes: parse, call one service method, serialise."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import Body, PageSize
from shipyard.training.models import Resources, Study, TrainingJob

router = APIRouter(tags=["training"])
_NAME = Field(default=None, max_length=256)


class SubmitIn(Body):
    function: str = Field(max_length=512)
    training_set: str | None = _NAME
    params: dict[str, Any] | None = None
    resources: Resources | None = None
    experiment: str = Field(default="training", min_length=1, max_length=256)
    run_name: str | None = _NAME
    register_as: str | None = _NAME
    team: str | None = _NAME
    timeout: float | None = Field(default=None, gt=0)
    max_attempts: int = Field(default=1, ge=1, le=10)
    backend: str = Field(default="subprocess", max_length=32)
    ray_address: str | None = Field(default=None, max_length=512)


class TuneIn(Body):
    function: str = Field(max_length=512)
    space: dict[str, Any] | str = Field(union_mode="left_to_right")
    n_trials: int = Field(default=20, ge=1, le=100_000)
    metric: str = Field(default="auc", min_length=1, max_length=250)
    direction: str = Field(default="maximize", max_length=16)
    training_set: str | None = _NAME
    params: dict[str, Any] | None = None
    experiment: str = Field(default="tuning", min_length=1, max_length=256)
    study_name: str | None = _NAME
    pruner: str = Field(default="median", max_length=16)
    workers: int = Field(default=1, ge=1, le=256)
    backend: str = Field(default="local", max_length=16)
    register_as: str | None = _NAME
    timeout: float | None = Field(default=None, gt=0)
    ray_address: str | None = Field(default=None, max_length=512)


class LogsOut(BaseModel):
    logs: str


@router.post("/training/jobs", status_code=201)
def submit(platform: Caller, body: SubmitIn) -> TrainingJob:
    return platform.training.submit(**body.model_dump(exclude={"function"}), function=body.function)


@router.get("/training/jobs")
def list_jobs(
    platform: Caller,
    state: str | None = None,
    team: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[TrainingJob]:
    return platform.training.list(state=state, team=team, limit=limit, page_token=page_token)


@router.get("/training/jobs/{job_id}")
def get_job(platform: Caller, job_id: str) -> TrainingJob:
    return platform.training.get(job_id)


@router.get("/training/jobs/{job_id}/logs")
def logs(platform: Caller, job_id: str) -> LogsOut:
    return LogsOut(logs=platform.training.logs(job_id))


@router.post("/training/jobs/{job_id}/cancel")
def cancel(platform: Caller, job_id: str) -> TrainingJob:
    return platform.training.cancel(job_id)


@router.post("/training/studies", status_code=201)
def tune(platform: Caller, body: TuneIn) -> Study:
    return platform.training.tune(
        **body.model_dump(exclude={"function", "space"}), function=body.function, space=body.space
    )


@router.get("/training/studies/{name}")
def get_study(platform: Caller, name: str) -> Study:
    return platform.training.get_study(name)
