"""Pipeline and job routes: parse, call one service method, serialise."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body, PageSize
from shipyard.api.routing import CapabilityRouter
from shipyard.pipelines.models import Job
from shipyard.pipelines.ops import JOB_OPS
from shipyard.pipelines.pipeline_service import BackfillResult, PipelineInfo
from shipyard.pipelines.protocol import JobAPI
from shipyard.pipelines.runs import PipelineRun

router = CapabilityRouter(tags=["pipelines"])
mount(router, "jobs", JobAPI, JOB_OPS)  # the served entries (prune); below, written out


class SpecsIn(Body):
    pipelines: list[dict[str, Any]] = Field(max_length=1000)


class RunIn(Body):
    partition: str | None = Field(default=None, max_length=32)


class BackfillIn(Body):
    start: date
    end: date


class LogsOut(BaseModel):
    logs: str


# -- pipelines ---------------------------------------------------------------------------


@router.get("/pipelines")
def list_pipelines(platform: Caller) -> list[PipelineInfo]:
    return platform.pipelines.list()


@router.post("/pipelines/plan")
def plan(platform: Caller, body: SpecsIn) -> list[dict[str, Any]]:
    return platform.pipelines.plan(body.pipelines)


@router.post("/pipelines/apply")
def apply(platform: Caller, body: SpecsIn) -> list[dict[str, Any]]:
    return platform.pipelines.apply(body.pipelines)


@router.get("/pipelines/{name}")
def get_pipeline(platform: Caller, name: str) -> PipelineInfo:
    return platform.pipelines.get(name)


@router.post("/pipelines/{name}/runs", status_code=201)
def run(platform: Caller, name: str, body: RunIn) -> PipelineRun:
    return platform.pipelines.run(name, partition=body.partition)


@router.get("/pipelines/{name}/runs")
def list_runs(
    platform: Caller,
    name: str,
    state: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[PipelineRun]:
    """Runs of ``name``, or of every pipeline the caller may read when ``name`` is ``-``."""
    pipeline = None if name == "-" else name
    return platform.pipelines.list_runs(pipeline, state=state, limit=limit, page_token=page_token)


@router.post("/pipelines/{name}/backfills", status_code=202)
def backfill(platform: Caller, name: str, body: BackfillIn) -> BackfillResult:
    return platform.pipelines.backfill(name, body.start, body.end)


@router.get("/pipelines/-/backfills/{backfill_id}")
def backfill_progress(platform: Caller, backfill_id: str) -> dict[str, int]:
    return platform.pipelines.backfill_progress(backfill_id)


@router.post("/pipelines/{name}/pause")
def pause(platform: Caller, name: str) -> PipelineInfo:
    return platform.pipelines.pause(name)


@router.post("/pipelines/{name}/resume")
def resume(platform: Caller, name: str) -> PipelineInfo:
    return platform.pipelines.resume(name)


@router.get("/pipelines/-/runs/{run_id}")
def get_run(platform: Caller, run_id: str) -> PipelineRun:
    return platform.pipelines.get_run(run_id)


@router.get("/pipelines/-/runs/{run_id}/logs")
def run_logs(platform: Caller, run_id: str) -> dict[str, str]:
    return platform.pipelines.logs(run_id)


@router.post("/pipelines/-/runs/{run_id}/cancel")
def cancel_run(platform: Caller, run_id: str) -> PipelineRun:
    return platform.pipelines.cancel_run(run_id)


# -- jobs ----------------------------------------------------------------------------------


@router.get("/jobs")
def list_jobs(
    platform: Caller,
    state: str | None = None,
    pool: str | None = None,
    team: str | None = None,
    limit: PageSize = 100,
    page_token: str | None = None,
) -> Page[Job]:
    return platform.jobs.list(state=state, pool=pool, team=team, limit=limit, page_token=page_token)


@router.get("/jobs/{job_id}")
def get_job(platform: Caller, job_id: str) -> Job:
    return platform.jobs.get(job_id)


@router.get("/jobs/{job_id}/logs")
def job_logs(platform: Caller, job_id: str) -> LogsOut:
    return LogsOut(logs=platform.jobs.logs(job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(platform: Caller, job_id: str) -> Job:
    return platform.jobs.cancel(job_id)
