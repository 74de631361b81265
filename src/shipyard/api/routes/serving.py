"""Serving routes: deployments under ``/api/v1/deployments`` (made from serving's
operation table, ``shipyard.serving.ops``, but for ``predict``); the Open Inference
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
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from shipyard.api.deps import Caller, caller
from shipyard.api.generated import mount
from shipyard.api.params import predict_inputs
from shipyard.api.routing import CapabilityRouter
from shipyard.serving import v2
from shipyard.serving.ops import OPS
from shipyard.serving.protocol import ServingAPI


@asynccontextmanager
async def _preload(app: Any) -> AsyncIterator[None]:
    """At start-up, load every deployment's models (off the loop) before serving."""
    from shipyard.serving.server import preload

    try:
        await asyncio.to_thread(preload, app.state.platform)
    except Exception:  # the API must start even if serving cannot preload
        log.exception("serving: preloading deployments failed")
    yield


router = CapabilityRouter(prefix="/deployments", tags=["serving"], lifespan=_preload)
root_router = APIRouter(prefix="/v2", tags=["serving-v2"])

log = logging.getLogger("shipyard.api.serving")

JSON = "application/json"
ROUTING_HEADER = "x-shipyard-routing-key"


@router.post("/{name}/predict")
async def predict(name: str, request: Request) -> Response:
    platform = caller(request)  # resolved by the router's guard: no second threadpool hop
    inputs = predict_inputs(await request.body())
    result = await platform.serving.apredict(
        name, inputs, routing_key=request.headers.get(ROUTING_HEADER)
    )
    return Response(orjson.dumps(result.to_dict()), media_type=JSON)


mount(router, "serving", ServingAPI, OPS)


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
