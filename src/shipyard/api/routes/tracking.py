"""Tracking routes, made from tracking's operation table (``shipyard.tracking.ops``).

Written out here: creating an experiment (its ``artifact_location`` is the
server's choice), deleting and restoring a run, and uploading an artifact (a raw
body). The MLflow REST API (``/api/2.0/mlflow/...``) is ``shipyard.api.mlflow``.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body
from shipyard.api.routing import CapabilityRouter
from shipyard.tracking.models import Experiment, Run
from shipyard.tracking.ops import OPS
from shipyard.tracking.protocol import TrackingAPI

router = CapabilityRouter(prefix="/tracking", tags=["tracking"])


class CreateExperiment(Body):
    name: str
    owner: str | None = None
    tags: dict[str, str] | None = None


@router.post("/experiments", status_code=201)
def create_experiment(platform: Caller, body: CreateExperiment) -> Experiment:
    return platform.tracking.create_experiment(body.name, owner=body.owner, tags=body.tags)


mount(router, "tracking", TrackingAPI, OPS)


@router.delete("/runs/{run_id}")
def delete_run(platform: Caller, run_id: str) -> Run:
    return platform.tracking.set_run_lifecycle(run_id, "deleted")


@router.post("/runs/{run_id}/restore")
def restore_run(platform: Caller, run_id: str) -> Run:
    return platform.tracking.set_run_lifecycle(run_id, "active")


@router.put("/runs/{run_id}/artifacts/content")
async def put_artifact(
    platform: Caller, run_id: str, path: str, request: Request
) -> dict[str, str]:
    data = await request.body()
    rel = await run_in_threadpool(platform.tracking.put_artifact, run_id, path, data)
    return {"path": rel}
