"""OpenLineage ingestion over HTTP: ``LineageAPI`` from its operation table."""

from __future__ import annotations

from shipyard.client.ops import API, Args, RemoteService, local
from shipyard.lineage.models import LineageIngest
from shipyard.lineage.protocol import LineageAPI


class RemoteLineageService(RemoteService, LineageAPI, ops={}):
    """``LineageService`` over HTTP: the event is the whole body (as OpenLineage clients send it)."""

    @local(LineageAPI.ingest_event)
    def ingest_event(self, a: Args) -> LineageIngest:
        owner = a["owner"]
        data = self._http.request(
            "POST", API + "/lineage", params={"owner": owner} if owner else {}, json=a["event"]
        )
        return LineageIngest.model_validate(data)
