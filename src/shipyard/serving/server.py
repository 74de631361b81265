"""A dedicated inference server: only the prediction and V2 routes, on Starlette.

The full API mounts every capability's routes; matching a request against all of
them, and resolving the caller in a worker thread, costs more than the
prediction itself. This app serves the same ``/api/v1/deployments/{name}/predict``
and ``/v2/...`` routes with the same authentication (bearer token ->
``SecurityService.authenticate``), the same ``ServingService`` and the same error
bodies, with a handful of routes and the whole request on the event loop.
``shipyard deployments serve`` runs it; ``shipyard serve`` keeps serving the
same routes inside the full API.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shipyard._internal.paging import all_items
from shipyard.api.auth import TokenCheck, app_check
from shipyard.api.errors import http_error, internal_error, shipyard_error
from shipyard.api.middleware import EdgeMiddleware
from shipyard.api.params import predict_inputs
from shipyard.errors import ShipyardError
from shipyard.monitoring.metrics import CONTENT_TYPE, MetricsMiddleware
from shipyard.platform import Platform
from shipyard.serving import v2

log = logging.getLogger("shipyard.serving.server")

JSON = "application/json"
ROUTING_HEADER = "x-shipyard-routing-key"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data, default=str), status_code=status, media_type=JSON, headers=headers
    )


def _caller(request: Request) -> Platform:
    """The token's platform view; the request counts against its rate quotas (429)."""
    view = app_check(request.app.state).caller(request.headers.get("authorization"))
    view.quota_gate.admit_request(view.principal)
    return view


async def predict(request: Request) -> Response:
    platform = _caller(request)
    inputs = predict_inputs(await request.body())
    result = await platform.serving.apredict(
        request.path_params["name"], inputs, routing_key=request.headers.get(ROUTING_HEADER)
    )
    return _json(result.to_dict())


async def v2_infer(request: Request) -> Response:
    platform = _caller(request)
    name = request.path_params["name"]
    rows, rid = v2.parse_infer(
        await request.body(), request.headers.get("inference-header-content-length")
    )
    result = await platform.serving.apredict(
        name, rows, routing_key=request.headers.get(ROUTING_HEADER)
    )
    return _json(v2.infer_response(name, rid, result))


async def v2_model(request: Request) -> Response:
    dep = _caller(request).serving.get_deployment(request.path_params["name"])
    return _json(v2.model_metadata(dep))


async def v2_model_ready(request: Request) -> Response:
    serving = _caller(request).serving
    name = request.path_params["name"]
    serving.get_deployment(name)
    serving.runtime.get(name)
    return _json({"name": name, "ready": True})


async def live(_request: Request) -> Response:
    return _json({"live": True})


async def ready(request: Request) -> Response:
    expected = getattr(request.app.state, "unloaded", None)  # set by ``settle``
    ok, checks = request.app.state.platform.monitoring.readiness(expected=expected)
    return _json({"ready": ok, "checks": checks}, 200 if ok else 503)


async def metrics(request: Request) -> Response:
    text = _caller(request).monitoring.metrics_text()
    return Response(text, media_type=CONTENT_TYPE)


async def health(_request: Request) -> Response:
    import shipyard

    return _json({"status": "ok", "version": shipyard.__version__, "server": "serving"})


async def _shipyard_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)
    return shipyard_error(exc)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return http_error(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return internal_error(request, exc)


@asynccontextmanager
async def drain_on_shutdown(app: Any) -> AsyncIterator[None]:
    """The app's lifespan: at shutdown (after uvicorn finished the requests in flight, on
    SIGTERM/SIGINT) write everything this process holds for the inference log."""
    yield
    platform: Platform = app.state.platform
    runtimes = platform.serving.runtimes  # one runtime per process, shared by every view
    rows = runtimes.drain()
    if rows:
        log.info("inference log: %d rows spooled at shutdown", rows)
    try:  # and into the Delta log, for a project that runs no scheduler (ADR 0052)
        runtimes.flush_log(wait=5.0)
    except Exception as exc:  # the spool keeps them for the next flush
        log.warning("inference log: spooled rows left for the scheduled flush: %s", exc)


def create_serving_app(platform: Platform, *, auth_cache_seconds: float | None = None) -> Starlette:
    """The inference-only app over ``platform`` (the root; requests act as their token).

    Errors, the body limit and the token check are the API's own (``shipyard.api``).

    Args:
        auth_cache_seconds: longest reuse of a verified token's principal (default:
            ``security.auth_cache``; revocations end it at once, see ``api.auth``).
    """
    routes = [
        Route("/api/v1/deployments/{name}/predict", predict, methods=["POST"]),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/ready", v2_model_ready, methods=["GET"]),
        Route("/v2/models/{name}", v2_model, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/api/v1/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ShipyardError: _shipyard_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        middleware=[
            Middleware(MetricsMiddleware),  # outermost: counts the edge's refusals too
            Middleware(EdgeMiddleware, max_body_bytes=platform.settings.server.max_body_bytes),
        ],
        lifespan=drain_on_shutdown,
    )
    app.state.platform = platform
    app.state.token_check = TokenCheck(platform, auth_cache_seconds)
    return app


def preload(platform: Platform) -> list[str]:
    """Load every deployment's models now, so the first request does not wait for a load.

    Returns the deployments that could not load: each is logged and skipped (it answers
    with its error when asked), and readiness says "not ready" until it has loaded.
    """
    serving = platform.serving
    unloaded = []
    for dep in all_items(lambda token: serving.list_deployments(page_token=token)):
        try:
            serving.runtime.get(dep.name)
        except ShipyardError as exc:
            log.warning("deployment %s not loaded at start: %s", dep.name, exc.message)
            unloaded.append(dep.name)
    return unloaded


def settle(app: Starlette, platform: Platform) -> None:
    """Preload (readiness then knows what failed to load), then move start-up objects out
    of the collector's way (fewer long pauses)."""
    from shipyard._internal.threads import limit_native_threads

    limit_native_threads()
    app.state.unloaded = preload(platform)
    gc.collect()
    gc.freeze()


def serving_app_from_env() -> Starlette:
    """Factory for uvicorn worker processes (the project comes from the environment)."""
    from shipyard._internal.prom import mark_dead_at_exit

    mark_dead_at_exit()
    platform = Platform.open(os.environ.get("SHIPYARD_PROJECT_DIR", "."))
    app = create_serving_app(platform)
    settle(app, platform)
    return app


def run_serving_server(
    project: Path,
    *,
    host: str,
    port: int,
    workers: int = 1,
    auth_cache_seconds: float | None = None,
) -> None:
    import uvicorn

    print(f"Shipyard inference server on http://{host}:{port}", flush=True)
    if workers > 1:
        os.environ["SHIPYARD_PROJECT_DIR"] = str(Path(project).resolve())
        if auth_cache_seconds is not None:  # the workers read it through Settings
            os.environ["SHIPYARD_SECURITY_AUTH_CACHE"] = str(auth_cache_seconds)
        from shipyard._internal.prom import multiprocess_dir

        with multiprocess_dir(workers):  # /metrics sums the workers' counters (ADR 0051)
            uvicorn.run(
                "shipyard.serving.server:serving_app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                access_log=False,
            )
        return
    platform = Platform.open(project)
    app = create_serving_app(platform, auth_cache_seconds=auth_cache_seconds)
    settle(app, platform)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )
