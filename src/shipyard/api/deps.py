"""Request dependencies: who is calling, as a platform view acting for them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from shipyard.api.auth import app_check
from shipyard.platform import Platform

#: Liveness probes answer without a token: Shipyard's own and the Open
#: Inference Protocol's (load balancers call them). They return no data.
PUBLIC_PATHS = frozenset({"/api/v1/health", "/v2/health/live", "/v2/health/ready"})


def caller(request: Request) -> Platform:
    """The platform acting for the token's principal (401 when missing or invalid).

    Resolved once per request and kept on ``request.state``, so calling it again
    (from a handler, or another dependency) costs nothing. The check itself is
    ``shipyard.api.auth.TokenCheck``, the same as the inference server's.
    """
    view: Platform | None = getattr(request.state, "shipyard_caller", None)
    if view is None:
        view = app_check(request.app.state).caller(request.headers.get("authorization"))
        request.state.shipyard_caller = view
    return view


async def _caller_dependency(request: Request) -> Platform:
    # A recently verified token whose principal nothing changed since costs a few
    # microseconds: answered on the event loop. Otherwise, on the embedded SQLite
    # catalog the lookup is one indexed read of a local file (~0.1 ms), cheaper on
    # the loop than the hop to a worker thread; a networked catalog (PostgreSQL)
    # waits on a round trip, so it runs in the thread pool, off the loop.
    view: Platform | None = getattr(request.state, "shipyard_caller", None)
    if view is not None:
        return view
    check = app_check(request.app.state)
    view = check.cached(request.headers.get("authorization"))
    if view is not None:
        request.state.shipyard_caller = view
        return view
    if check.root.context.db.dialect == "sqlite":
        return caller(request)
    return await run_in_threadpool(caller, request)


async def authenticated(request: Request) -> None:
    """Mounted on every capability router: no route but a liveness probe runs unauthenticated.

    It also counts the request against the caller's rate quotas (``QuotaExceeded``,
    429 with ``Retry-After``): a dict lookup without a rate quota, a ``limits`` hit
    with one (see ``shipyard.quotas.gate``).
    """
    if request.url.path not in PUBLIC_PATHS:
        view = await _caller_dependency(request)
        view.quota_gate.admit_request(view.principal)


Caller = Annotated[Platform, Depends(_caller_dependency)]
