"""``POST /api/v1/lineage``: OpenLineage run events from outside tools (Marquez's path)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query

from shipyard.api.deps import Caller
from shipyard.api.routing import CapabilityRouter
from shipyard.lineage.models import LineageIngest

router = CapabilityRouter(tags=["lineage"])


@router.post("/lineage", status_code=201)
def ingest_event(
    platform: Caller,
    event: Annotated[Any, Body()],
    owner: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> LineageIngest:
    """Add one OpenLineage ``RunEvent`` to the lineage graph (a malformed one is a 422)."""
    return platform.lineage.ingest_event(event, owner=owner)
