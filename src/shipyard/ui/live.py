"""Live pipeline-run and job views as server-sent events (htmx's sse extension).

A run's or job's page connects to its ``/stream`` while the run is live; the server
reads the run (or job) and its logs through the services as the signed-in user every
``POLL_SECONDS`` and pushes the re-rendered fragment only when it changed, then an
``event: done`` (the page's ``sse-close``) once the run has finished. The browser
no longer re-requests the whole fragment every two seconds; a quiet run costs one
read a second on the server and nothing on the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from shipyard.errors import ShipyardError
from shipyard.ui.render import templates
from shipyard.ui.session import Session

POLL_SECONDS = 1.0
STREAM_SECONDS = 600.0  # then the browser reconnects (``retry``) with a fresh session check


def event(name: str, html: str) -> str:
    """One SSE message; every line of ``html`` its own ``data:`` line (newlines in logs
    survive: the browser joins them back with ``\\n``)."""
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in html.split("\n")) + "\n"


async def _events(
    request: Request,
    read: Callable[[], tuple[dict[str, Any], bool]],
    template: str,
    poll: float,
) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    last = None
    ends = time.monotonic() + STREAM_SECONDS
    while True:
        try:
            context, live = await run_in_threadpool(read)
        except ShipyardError:  # the run vanished or the session lost its right mid-stream
            yield event("done", "")
            return
        html = templates.get_template(template).render(**context)
        if html != last:
            last = html
            yield event("update", html)
        if not live:
            yield event("done", "")
            return
        if time.monotonic() > ends or await request.is_disconnected():
            return
        await asyncio.sleep(poll)


def stream(
    request: Request,
    read: Callable[[], tuple[dict[str, Any], bool]],
    template: str,
    poll: float | None = None,
) -> StreamingResponse:
    """``read()`` -> (template context, still live?), pushed as ``event: update``."""
    return StreamingResponse(
        _events(request, read, template, poll or POLL_SECONDS),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def run_reader(session: Session, run_id: str) -> Callable[[], tuple[dict[str, Any], bool]]:
    view = session.view.pipelines

    def read() -> tuple[dict[str, Any], bool]:
        found = view.get_run(run_id)
        context = {"r": found, "logs": view.logs(run_id), "session": session}
        return context, found.state.value == "running"

    return read


def job_reader(session: Session, job_id: str) -> Callable[[], tuple[dict[str, Any], bool]]:
    view = session.view.jobs

    def read() -> tuple[dict[str, Any], bool]:
        found = view.get(job_id)
        return {"j": found, "logs": found.logs or ""}, found.state.value in ("queued", "running")

    return read
