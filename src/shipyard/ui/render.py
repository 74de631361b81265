"""Templates and the one place UI errors become pages.

``UIRoute`` is the route class of every UI router: a ``ShipyardError`` raised by a
service (or by the session) becomes an HTML page with the error's status, never the
API's JSON; a missing or stale session redirects to the sign-in page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

import shipyard
from shipyard.errors import ShipyardError, Unauthenticated

log = logging.getLogger("shipyard.ui")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = shipyard.__version__
#: The main menu: (key, label, href). An area adds its line here; the page passes ``nav=key``.
NAV: list[tuple[str, str, str]] = [
    ("home", "Home", "/ui/"),
    ("catalog", "Catalog", "/ui/catalog"),
    ("lake", "Lake", "/ui/lake"),
    ("features", "Features", "/ui/features"),
    ("experiments", "Experiments", "/ui/experiments"),
    ("registry", "Registry", "/ui/registry"),
    ("deployments", "Deployments", "/ui/deployments"),
    ("pipelines", "Pipelines", "/ui/pipelines"),
    ("audit", "Audit", "/ui/audit"),
]
templates.env.globals["main_nav"] = NAV


#: Pages run only the package's own scripts (no inline script, no other origin) and
#: cannot be framed; style attributes stay allowed (htmx and the charts set them).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """Render ``name`` with the signed-in session (if any) in the context."""
    context.setdefault("session", getattr(request.state, "ui_session", None))
    context.setdefault("nav", "")
    context["status"] = status
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def see_other(*parts: str) -> Response:
    """A 303 to ``/ui/<parts...>``, each part URL-quoted (names come from the path, decoded)."""
    return RedirectResponse("/ui/" + "/".join(quote(p, safe="/") for p in parts), status_code=303)


def is_fragment(request: Request) -> bool:
    """An htmx request asks for the fragment only (not a history restore, which wants the page)."""
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _signin_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/ui/login?next={quote(target, safe='')}"
    if is_fragment(request):  # htmx follows HX-Redirect with a full page load
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    name = "fragments/error.html" if is_fragment(request) else "error.html"
    return page(request, name, status=status, title=title, message=message)


TITLES = {
    400: "Invalid input",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    429: "Limit reached",
}


class UIRoute(APIRoute):
    """A route whose errors are pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated:
                return _signin_redirect(request)
            except ShipyardError as exc:
                title = TITLES.get(exc.http_status, "Error")
                return error_page(request, exc.http_status, title, exc.message)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(map(str, e["loc"][1:])) for e in exc.errors())
                return error_page(request, 422, "Invalid input", f"check these fields: {fields}")

        return route
