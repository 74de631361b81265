"""Audit log: filters, paging, and a live tail over server-sent events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from shipyard.governance.models import AuditRecord
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, is_fragment, page, templates
from shipyard.ui.session import Session

router = APIRouter(route_class=UIRoute)
Filter = Annotated[str | None, Query(max_length=200)]
#: A live tail polls the audit service this often, and ends after this long (the browser reconnects).
POLL_SECONDS = 2.0
STREAM_SECONDS = 300.0


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


@router.get("/audit")
def audit(
    request: Request,
    session: Signed,
    principal: Filter = None,
    action: Filter = None,
    asset: Filter = None,
    outcome: Annotated[str | None, Query(pattern="^(|ok|denied|error)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    filters = {"principal": principal, "action": action, "asset": asset, "outcome": outcome}
    found = session.view.audit.list_records(
        **{k: _blank(v) for k, v in filters.items()},
        since=since,
        until=until,
        limit=50,
        page_token=page_token,
    )
    shown = {k: v or "" for k, v in filters.items()}
    shown |= {
        "since": since.isoformat() if since else "",
        "until": until.isoformat() if until else "",
    }
    name = "audit/rows.html" if is_fragment(request) else "audit/log.html"
    return page(request, name, nav="audit", found=found, activity=found.items, filters=shown)


def _newer(session: Session, after: int) -> list[AuditRecord]:
    """Records with an id above ``after``, oldest first (the newest page is enough for a tail)."""
    items = session.view.audit.list_records(limit=50).items
    return [r for r in reversed(items) if r.id > after]


async def _tail(request: Request, session: Session) -> AsyncIterator[str]:
    first = await run_in_threadpool(session.view.audit.list_records, limit=1)
    last = first.items[0].id if first.items else 0
    ends = time.monotonic() + STREAM_SECONDS
    yield "retry: 3000\n\n"
    while time.monotonic() < ends and not await request.is_disconnected():
        await asyncio.sleep(POLL_SECONDS)
        for record in await run_in_threadpool(_newer, session, last):
            last = record.id
            html = templates.get_template("audit/row.html").render(r=record)
            yield "event: record\ndata: " + html.replace("\n", " ") + "\n\n"


@router.get("/audit/stream")
def stream(request: Request, session: Signed) -> Response:
    """New audit records as server-sent events (``event: record``, an HTML table row)."""
    return StreamingResponse(
        _tail(request, session),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
