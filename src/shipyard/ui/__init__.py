"""The web UI: server-rendered pages at ``/ui`` over the same services as every skin.

``install(app)`` mounts the pages, the vendored static files and an offline API docs
page on the API app. Pages call the services as the signed-in principal (see
``session``) and hold no logic of their own. See docs/ui.md and docs/adr/0018.
"""

from __future__ import annotations

import importlib

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from shipyard.ui.render import HERE
from shipyard.ui.session import Authenticate

#: One router module per area, under ``/ui``.
PAGES = (
    "auth",
    "home",
    "catalog",
    "lake",
    "features",
    "audit",
    "admin",
    "experiments",
    "registry",
    "deployments",
    "pipelines",
)
STATIC = "/ui/static"
DOCS_PATH = "/api/v1/docs"

__all__ = ["DOCS_PATH", "PAGES", "install"]


def install(app: FastAPI, authenticate: Authenticate) -> None:
    """Mount the UI on ``app`` (made by ``shipyard.api.app.create_app``).

    ``authenticate`` is the API's token check, passed in so that the UI (a skin over
    the services) does not import the API package.
    """
    app.state.ui_authenticate = authenticate
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="ui-static")
    for name in PAGES:
        module = importlib.import_module(f"shipyard.ui.pages.{name}")
        app.include_router(module.router, prefix="/ui", include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def _root() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    @app.get("/ui", include_in_schema=False)
    def _ui() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    @app.get(DOCS_PATH, include_in_schema=False)
    def _docs(request: Request) -> HTMLResponse:
        # Swagger UI from the package, not a CDN: the page works on an offline host.
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/api/v1/openapi.json",
            title="Shipyard API",
            swagger_js_url=f"{STATIC}/vendor/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/vendor/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon.svg",
        )
