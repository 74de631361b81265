"""Serving routes: deployments under ``/api/v1/deployments``; the Open Inference
Protocol (KServe V2) under ``/v2`` (``root_router``).

The predict routes are ``async`` and parse the body with orjson themselves: scoring
stays on the event loop and skips pydantic, which is most of a millisecond at
these latencies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from annotated_types import Interval
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from shipyard.api.accepted import ACCEPTED, Wait, accepted
from shipyard.api.deps import Caller, caller
from shipyard.api.params import Body, PageSize, Version, predict_inputs
from shipyard.serving import v2
from shipyard.serving.batch import BatchScoreResult
from shipyard.serving.models import Deployment, Variant
from shipyard.serving.report import DeploymentReport


@asynccontextmanager
async def _preload(app: Any) -> AsyncIterator[None]:
    """At start-up, load every deployment's models (off the loop) before serving."""
    from shipyard.serving.server import preload

    try:
        await asyncio.to_thread(preload, app.state.platform)
    except Exception:  # the API must start even if serving cannot preload
        log.exception("serving: preloading deployments failed")
    yield


router = APIRouter(prefix="/deployments", tags=["serving"], lifespan=_preload)
root_router = APIRouter(prefix="/v2", tags=["serving-v2"])

log = logging.getLogger("shipyard.api.serving")

JSON = "application/json"
#: Seconds of inference log the stats cover (up to a year).
StatsWindow = Annotated[float, Interval(gt=0, le=366 * 86400)]
ROUTING_HEADER = "x-shipyard-routing-key"


class CreateDeployment(Body):
    name: str
    variants: list[Variant]
    feature_service: str | None = None
    entity_keys: list[str] = Field(default_factory=list)
    request_fields: dict[str, str] = Field(default_factory=dict)
    require_features: bool = False
    log_predictions: bool = True
    owner: str | None = None
    description: str | None = None


class UpdateDeployment(Body):
    variants: list[Variant] | None = None
    feature_service: str | None = None
    entity_keys: list[str] | None = None
    request_fields: dict[str, str] | None = None
    require_features: bool | None = None
    log_predictions: bool | None = None
    description: str | None = None


class ApplyDeployment(UpdateDeployment):
    owner: str | None = None


class Rollback(Body):
    to_version: Version | None = None


@router.post("/{name}/predict")
async def predict(name: str, request: Request) -> Response:
    platform = caller(request)  # resolved by the router's guard: no second threadpool hop
    inputs = predict_inputs(await request.body())
    result = await platform.serving.apredict(
        name, inputs, routing_key=request.headers.get(ROUTING_HEADER)
    )
    return Response(orjson.dumps(result.to_dict()), media_type=JSON)


@router.post("", status_code=201)
def create_deployment(body: CreateDeployment, platform: Caller) -> Deployment:
    fields = body.model_dump()
    return platform.serving.create_deployment(
        fields.pop("name"), **{**fields, "variants": body.variants}
    )


@router.get("")
def list_deployments(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> dict[str, Any]:
    page = platform.serving.list_deployments(limit=limit, page_token=page_token)
    return page.model_dump(mode="json")


@router.get("/{name}")
def get_deployment(name: str, platform: Caller) -> Deployment:
    return platform.serving.get_deployment(name)


@router.patch("/{name}")
def update_deployment(name: str, body: UpdateDeployment, platform: Caller) -> Deployment:
    fields = body.model_dump(exclude_unset=True)
    if body.variants is not None:
        fields["variants"] = body.variants
    return platform.serving.update_deployment(name, **fields)


@router.put("/{name}")
def apply_deployment(name: str, body: ApplyDeployment, platform: Caller) -> Deployment:
    """Create ``name`` or record a new version of it (what ``shipyard deploy`` does)."""
    fields = body.model_dump(exclude_unset=True)
    fields.pop("log_predictions", None)
    if body.variants is not None:
        fields["variants"] = body.variants
    return platform.serving.apply_deployment(name, **fields)


@router.delete("/{name}", status_code=204)
def delete_deployment(name: str, platform: Caller) -> Response:
    platform.serving.delete_deployment(name)
    return Response(status_code=204)


@router.get("/{name}/versions")
def list_deployment_versions(
    name: str, platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> dict[str, Any]:
    page = platform.serving.list_deployment_versions(name, limit=limit, page_token=page_token)
    return page.model_dump(mode="json")


@router.post("/{name}/rollback")
def rollback_deployment(name: str, body: Rollback, platform: Caller) -> Deployment:
    return platform.serving.rollback_deployment(name, to_version=body.to_version)


@router.get("/{name}/stats")
def deployment_stats(
    name: str, platform: Caller, window_seconds: StatsWindow = 3600.0
) -> dict[str, Any]:
    return platform.serving.deployment_stats(name, window_seconds=window_seconds)


class StartCanary(Body):
    variant: Variant
    steps: list[int] | None = None
    interval_s: float | None = None
    max_error_rate: float = 0.05
    max_p99_ms: float | None = None
    min_requests: int = 20


class StopCanary(Body):
    reason: str = "by command"


@router.post("/{name}/canary")
def start_canary(name: str, body: StartCanary, platform: Caller) -> Deployment:
    fields = body.model_dump(exclude={"variant"})
    return platform.serving.start_canary(name, body.variant, **fields)


@router.post("/{name}/canary/advance")
def advance_canary(name: str, platform: Caller) -> Deployment:
    return platform.serving.advance_canary(name)


@router.post("/{name}/canary/rollback")
def rollback_canary(name: str, body: StopCanary, platform: Caller) -> Deployment:
    return platform.serving.rollback_canary(name, reason=body.reason)


class ScoreTable(Body):
    model: str
    source: str
    output: str
    version: Version | None = None
    keep_columns: list[str] | None = None
    chunk_rows: int = 250_000


@router.post("/-/score-table", response_model=BatchScoreResult, responses=ACCEPTED)
def score_table(body: ScoreTable, platform: Caller, wait: Wait = False) -> Any:
    if not wait:
        params = body.model_dump(mode="json", exclude_none=True)
        return accepted(platform.jobs.submit_action("serving.score_table", params))
    fields = body.model_dump()
    return platform.serving.score_table(
        fields.pop("model"), fields.pop("source"), fields.pop("output"), **fields
    )


class GroundTruth(Body):
    outcomes: list[dict[str, Any]]


@router.post("/{name}/ground-truth")
def log_ground_truth(name: str, body: GroundTruth, platform: Caller) -> dict[str, int]:
    return {"written": platform.serving.log_ground_truth(name, body.outcomes)}


@router.get("/{name}/report")
def get_report(name: str, platform: Caller) -> DeploymentReport:
    return platform.serving.get_report(name)


@router.post("/-/flush-log")
def flush_prediction_log(platform: Caller) -> dict[str, int]:
    return {"written": platform.serving.flush_prediction_log()}


# -- Open Inference Protocol (KServe V2) ------------------------------------------------


@root_router.get("/health/live")
async def v2_live() -> dict[str, bool]:
    return {"live": True}


@root_router.get("/health/ready")
def v2_ready(request: Request) -> JSONResponse:
    """503 when the metadata DB does not answer or an inference worker died."""
    ok, checks = request.app.state.platform.monitoring.readiness()
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)


@root_router.get("")
async def v2_server() -> dict[str, Any]:
    import shipyard

    return {
        "name": "shipyard",
        "version": shipyard.__version__,
        "extensions": ["binary_tensor_data"],
    }


@root_router.get("/models/{name}")
def v2_model(name: str, platform: Caller) -> dict[str, Any]:
    return v2.model_metadata(platform.serving.get_deployment(name))


@root_router.get("/models/{name}/versions/{version}")
def v2_model_version(name: str, version: str, platform: Caller) -> dict[str, Any]:
    return v2.model_metadata(platform.serving.get_deployment(name))


@root_router.get("/models/{name}/ready")
def v2_model_ready(name: str, platform: Caller) -> dict[str, Any]:
    platform.serving.get_deployment(name)
    platform.serving.runtime.get(name)  # loaded, so the first infer does not wait
    return {"name": name, "ready": True}


@root_router.post("/models/{name}/infer")
@root_router.post("/models/{name}/versions/{version}/infer")
async def v2_infer(name: str, request: Request) -> Response:
    platform = caller(request)
    rows, request_id = v2.parse_infer(
        await request.body(), request.headers.get("inference-header-content-length")
    )
    result = await platform.serving.apredict(
        name, rows, routing_key=request.headers.get(ROUTING_HEADER)
    )
    return Response(orjson.dumps(v2.infer_response(name, request_id, result)), media_type=JSON)
