"""Request dependencies: who is calling, as a platform view acting for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shipyard.platform import Platform

#: Liveness probes answer without a token: Shipyard's own and the Open
#: Inference Protocol's (load balancers call them). They return no data.
PUBLIC_PATHS = frozenset({"/api/v1/health", "/v2/health/live", "/v2/health/ready"})


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def caller(request: Request) -> Platform:
    """The platform acting for the token's principal (401 when missing or invalid).

    Resolved once per request (kept on ``request.state``), however many
    dependencies ask for it.
    """
    view: Platform | None = getattr(request.state, "shipyard_caller", None)
    if view is None:
        root: Platform = request.app.state.platform
        principal = root.security.authenticate(_bearer(request))
        view = root.as_principal(principal)
        request.state.shipyard_caller = view
    return view


def authenticated(request: Request) -> None:
    """Mounted on every capability router: no route but a liveness probe runs unauthenticated."""
    if request.url.path not in PUBLIC_PATHS:
        caller(request)


Caller = Annotated[Platform, Depends(caller)]
