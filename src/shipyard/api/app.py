"""The HTTP API: an app factory over the services ``Platform`` built."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

import shipyard
from shipyard import ui
from shipyard.api import mlflow
from shipyard.api.auth import app_check
from shipyard.api.deps import PUBLIC_PATHS, authenticated
from shipyard.api.errors import install_error_handlers
from shipyard.api.middleware import EdgeMiddleware
from shipyard.api.routing import API_PREFIX
from shipyard.monitoring.metrics import MetricsMiddleware
from shipyard.platform import Platform
from shipyard.serving.server import drain_on_shutdown

#: One router module per capability, mounted under ``/api/v1``.
# The prediction route is matched first: routes are tried in order, and it is the hot path.
ROUTERS = (
    "serving",
    "features",
    "catalog",
    "security",
    "audit",
    "lake",
    "tracking",
    "registry",
    "events",
    "pipelines",
    "monitoring",
    "vectors",
    "quotas",
    "usage",
    "backup",
    "environments",
    "lineage",
    "training",
    "platform_code",
)


__all__ = ["PUBLIC_PATHS", "ROUTERS", "create_app"]


def _authenticate(state: Any, authorization: str) -> Platform:
    return app_check(state).caller(authorization)


def create_app(platform: Platform) -> FastAPI:
    """The API over ``platform`` (the root; each request acts as its token's principal).

    Every capability router is mounted with the ``authenticated`` dependency, so
    a route is authenticated even if its handler forgets to ask for the caller
    (the caller is resolved once per request: one token lookup either way). Only
    the liveness probes in ``PUBLIC_PATHS`` and the OpenAPI document answer
    without a token.
    """
    app = FastAPI(
        title="Shipyard",
        version=shipyard.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by the web UI from vendored assets (shipyard.ui.DOCS_PATH)
        redoc_url=None,
        lifespan=drain_on_shutdown,  # the inference log is written before the process ends
    )
    app.state.platform = platform
    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=platform.settings.server.max_body_bytes)
    app.add_middleware(MetricsMiddleware)  # request counts and latency for /metrics

    health = APIRouter(tags=["health"])

    @health.get("/api/v1/health")
    async def _health() -> dict[str, str]:  # no work: not worth a trip to a worker thread
        return {"status": "ok", "version": shipyard.__version__}

    app.include_router(health)
    guard = [Depends(authenticated)]
    for name in ROUTERS:
        module = importlib.import_module(f"shipyard.api.routes.{name}")
        app.include_router(module.router, prefix=API_PREFIX, dependencies=guard)
        extra = getattr(module, "root_router", None)  # e.g. protocol routes outside /api/v1
        if extra is not None:
            app.include_router(extra, dependencies=guard)
    app.include_router(mlflow.router, dependencies=guard)  # /api/2.0/mlflow..., /api/3.0/mlflow
    # the web UI at /ui, signed in with a session cookie (docs/ui.md)
    ui.install(app, authenticate=_authenticate)
    return app
