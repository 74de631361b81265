"""Sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
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


def _text(form: FormData, name: str, max_length: int) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


@router.post("/login")
async def login(request: Request) -> Response:
    # An HTML form (not a JSON body): read like every UI form, fields bounded here.
    form = await request.form()
    token, next_ = _text(form, "token", 4096), _safe_next(_text(form, "next", 2048))
    sessions.check_login_csrf(request, _text(form, "csrf", 256))
    try:
        await run_in_threadpool(sessions.verify_token, request, token)
    except Unauthenticated:
        return page(
            request,
            "login.html",
            status=401,
            next=next_,
            error="That token is not valid (unknown, expired or revoked).",
            csrf=sessions.login_csrf(request),
        )
    response = RedirectResponse(next_, status_code=303)
    sessions.start(request, response, token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await sessions.posted(request)
    response = RedirectResponse("/ui/login", status_code=303)
    sessions.end(response)
    return response
