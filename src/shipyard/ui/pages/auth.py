"""Sign-in and sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from shipyard.errors import Unauthenticated
from shipyard.ui import session as sessions
from shipyard.ui.render import UIRoute, page

router = APIRouter(route_class=UIRoute)


def _safe_next(target: str | None) -> str:
    """Only a path inside the UI (never another host: no open redirect)."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui/"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    csrf = sessions.login_csrf(request)
    response = page(request, "login.html", next=_safe_next(next), error=None, csrf=csrf)
    sessions.set_login_csrf(request, response, csrf)
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form(max_length=4096)],
    csrf: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/ui/",
) -> Response:
    sessions.check_login_csrf(request, csrf)
    try:
        sessions.verify_token(request, token.strip())
    except Unauthenticated:
        return page(
            request,
            "login.html",
            status=401,
            next=_safe_next(next),
            error="That token is not valid (unknown, expired or revoked).",
            csrf=csrf,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    sessions.start(request, response, token.strip())
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await sessions.posted(request)
    response = RedirectResponse("/ui/login", status_code=303)
    sessions.end(response)
    return response
