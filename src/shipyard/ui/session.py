"""The web UI's session: a signed, HttpOnly, SameSite=Strict cookie holding the user's token.

The cookie carries the API token the user signed in with and a random CSRF secret,
signed with the UI key (``itsdangerous``) so neither can be swapped. Every request
turns the token into the platform acting for its principal with the API's own
``TokenCheck``: a revoked token or role ends the session at the next click, exactly
as it ends API access. Forms carry the CSRF secret in a hidden field (htmx sends it
as the ``X-CSRF-Token`` header); a POST without the matching value is refused.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from shipyard.errors import PermissionDenied, Unauthenticated
from shipyard.platform import Platform
from shipyard.security.models import Permission

#: ``(app.state, "Bearer <token>") -> the platform acting for the token's principal``.
Authenticate = Callable[[Any, str], Platform]

COOKIE = "shipyard_session"
LOGIN_COOKIE = "shipyard_login_csrf"  # double-submit cookie of the sign-in form
MAX_AGE = 12 * 3600  # a session lasts 12 hours; the token's own expiry applies too
PATH = "/ui"
SECRET_FILE = "ui-secret"


def _key(root: Platform) -> bytes:
    """``SHIPYARD_UI_SECRET`` if set, else a random key kept in ``<home>/ui-secret`` (0600).

    Several workers on one host share the file; hosts behind one load balancer
    need the same value (set the variable on each).
    """
    given = os.environ.get("SHIPYARD_UI_SECRET")
    if given:
        return given.encode()
    path = Path(root.settings.home_dir) / SECRET_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker wrote it first
            return path.read_bytes()
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_urlsafe(48).encode())
        return path.read_bytes()


def serializer(request: Request) -> URLSafeTimedSerializer:
    state = request.app.state
    root = state.platform
    cached = getattr(state, "ui_serializer", None)
    if cached is None or cached[0] is not root:
        cached = (root, URLSafeTimedSerializer(_key(root), salt="shipyard-ui-session"))
        state.ui_serializer = cached
    return cached[1]


@dataclass(frozen=True)
class Session:
    """The signed-in user: the platform acting for them and the CSRF secret of their forms."""

    view: Platform
    csrf: str

    @property
    def principal_name(self) -> str:
        return self.view.principal.name

    def can(self, permission: str, team: str) -> bool:
        return self.view.principal.can(Permission(permission), team)

    @property
    def teams(self) -> list[str]:
        """Teams the user holds a role in (``*`` for an admin's all-teams role)."""
        return sorted(self.view.principal.roles)


def _cookie_flags(request: Request) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": PATH,
    }


def start(request: Request, response: Response, token: str) -> None:
    """Set the session cookie for ``token`` (already checked by the caller)."""
    value = serializer(request).dumps({"t": token, "c": secrets.token_urlsafe(24)})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, **_cookie_flags(request))  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_COOKIE, path=PATH)


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH)


def verify_token(request: Request, token: str) -> Platform:
    """The platform acting for ``token`` (``Unauthenticated`` when it is not a live token).

    The check is the API's own (``install(app, authenticate=...)`` hands it over), so a
    session follows the same token cache and revocation rules as a bearer token.
    """
    authenticate: Authenticate = request.app.state.ui_authenticate
    return authenticate(request.app.state, f"Bearer {token}")


def current(request: Request) -> Session:
    """The signed-in user of this request.

    Raises:
        Unauthenticated: no cookie, a cookie not signed with this UI's key or too old,
            or a token no longer valid.
    """
    cached: Session | None = getattr(request.state, "ui_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE)
    if not raw:
        raise Unauthenticated("sign in to use the web UI")
    try:
        data = serializer(request).loads(raw, max_age=MAX_AGE)
        token, csrf = str(data["t"]), str(data["c"])
    except (BadSignature, KeyError, TypeError):
        raise Unauthenticated("the session is not valid; sign in again") from None
    session = Session(view=verify_token(request, token), csrf=csrf)
    request.state.ui_session = session
    return session


def login_csrf(request: Request) -> str:
    """The sign-in form's CSRF value (double submit: no session yet); see ``set_login_csrf``."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(LOGIN_COOKIE, value, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]


def check_login_csrf(request: Request, submitted: str) -> None:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise PermissionDenied("the sign-in form expired or came from another site; try again")


async def posted(request: Request) -> tuple[Session, FormData]:
    """The session and form of a state-changing request, refused unless its CSRF value
    (the ``csrf`` field, or htmx's ``X-CSRF-Token`` header) matches the session's."""
    session = await run_in_threadpool(current, request)
    form = await request.form()
    submitted = request.headers.get("x-csrf-token")
    if submitted is None:
        value = form.get("csrf")
        submitted = value if isinstance(value, str) else ""
    if not hmac.compare_digest(session.csrf.encode(), submitted.encode()):
        raise PermissionDenied("the form's CSRF token is missing or wrong; reload the page")
    return session, form
