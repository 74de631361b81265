"""The interface of OpenLineage ingestion: what ``Platform`` and ``shipyard.connect`` offer."""

from __future__ import annotations

from typing import Any, Protocol

from shipyard.lineage.models import LineageIngest


class LineageAPI(Protocol):
    """What ``LineageService`` offers both in-process and over HTTP."""

    def ingest_event(self, event: dict[str, Any], *, owner: str | None = None) -> LineageIngest:
        """Add one OpenLineage run event to the lineage graph."""
        ...
