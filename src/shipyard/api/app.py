"""The HTTP API: an app factory over the services ``Platform`` built."""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI
from fastapi.responses import ORJSONResponse

import shipyard
from shipyard.api.errors import install_error_handlers
from shipyard.platform import Platform

#: One router module per capability, mounted under ``/api/v1``.
ROUTERS = ("catalog", "security", "audit", "lake", "features", "tracking", "registry", "serving")


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Shipyard",
        version=shipyard.__version__,
        default_response_class=ORJSONResponse,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.platform = platform
    install_error_handlers(app)

    health = APIRouter(tags=["health"])

    @health.get("/api/v1/health")
    def _health() -> dict[str, str]:
        return {"status": "ok", "version": shipyard.__version__}

    app.include_router(health)
    for name in ROUTERS:
        module = importlib.import_module(f"shipyard.api.routes.{name}")
        app.include_router(module.router, prefix="/api/v1")
        extra = getattr(module, "root_router", None)  # e.g. protocol routes outside /api/v1
        if extra is not None:
            app.include_router(extra)
    return app
