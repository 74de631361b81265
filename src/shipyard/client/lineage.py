"""OpenLineage ingestion over HTTP: ``LineageAPI`` from its operation table."""

from __future__ import annotations

from typing import Any

from shipyard.client.ops import API, RemoteService
from shipyard.lineage.models import LineageIngest
from shipyard.lineage.protocol import LineageAPI


class RemoteLineageService(RemoteService, LineageAPI, ops={}):
    """``LineageService`` over HTTP: the event is the whole body (as OpenLineage clients send it)."""

    def ingest_event(self, event: dict[str, Any], *, owner: str | None = None) -> LineageIngest:
        data = self._http.request(
            "POST", API + "/lineage", params={"owner": owner} if owner else {}, json=event
        )
        return LineageIngest.model_validate(data)
