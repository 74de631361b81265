"""Home: what the user's teams own, and what happened lately."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, page

router = APIRouter(route_class=UIRoute)

#: The scorecard's columns (every other kind is summed under "other").
HOME_KINDS = ("table", "feature_view", "run", "model", "deployment", "pipeline")


@router.get("/")
def home(request: Request, session: Signed) -> Response:
    counts = session.view.catalog.counts()
    rows = []
    for team in sorted(counts):
        kinds = counts[team]
        other = sum(n for k, n in kinds.items() if k not in HOME_KINDS)
        rows.append((team, [kinds.get(k, 0) for k in HOME_KINDS], other))
    activity = session.view.audit.list_records(limit=15).items
    return page(request, "home.html", nav="home", kinds=HOME_KINDS, rows=rows, activity=activity)
