"""``RemoteLakeService``: ``LakeAPI`` over HTTP (rows travel as Arrow IPC).

The plain calls come from the operation table; reads, SQL and writes are
written out because their rows travel as an Arrow stream, not JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pyarrow as pa

from shipyard._internal.paging import Page
from shipyard.client.ops import API, RemoteService, jsonable, segment
from shipyard.features.wire import ARROW_STREAM, from_ipc, to_ipc
from shipyard.lake.models import ExpectationResult, TableInfo
from shipyard.lake.ops import OPS, TABLE
from shipyard.lake.protocol import LakeAPI


def _table(name: str) -> str:
    return API + TABLE.format(name=segment(name))


class RemoteLakeService(RemoteService, LakeAPI, ops=OPS):
    """``LakeService`` over HTTP; ``ingest`` of server-side files is not offered."""

    def _arrow(self, method: str, path: str, **kwargs: Any) -> pa.Table:
        headers = {"accept": ARROW_STREAM, **kwargs.pop("headers", {})}
        return from_ipc(self._http.request(method, path, headers=headers, **kwargs))

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
    ) -> pa.Table:
        params = {"version": version, "as_of": jsonable(as_of), "filter": filter}
        params = {k: v for k, v in params.items() if v is not None}
        tbl = self._arrow("GET", _table(name) + "/rows", params=params)
        return tbl.select(columns) if columns else tbl

    def sql(
        self,
        statement: str,
        *,
        versions: dict[str, int] | None = None,
        as_of: datetime | str | None = None,
    ) -> pa.Table:
        body = {"query": statement, "versions": versions, "as_of": jsonable(as_of)}
        return self._arrow("POST", f"{API}/lake/sql", json={**body, "format": "arrow"})

    def write(
        self,
        name: str,
        data: Any,
        mode: Literal["append", "overwrite"] = "append",
        *,
        batch_id: str | None = None,
        source: str = "api",
        schema_evolution: bool = False,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        sources: list[str] | None = None,
        operation: str = "write",
    ) -> TableInfo:
        from shipyard.lake.writes import to_arrow

        params = {
            "mode": mode,
            "batch_id": batch_id,
            "source": None if source == "api" else source,  # the server says "api:arrow"
            "schema_evolution": schema_evolution,
            "owner": owner,
            "description": description,
            "tags": tags,
            "sources": sources,
            "operation": operation,
        }
        body = self._http.request(
            "POST",
            _table(name) + "/rows",
            content=to_ipc(to_arrow(data)),
            params={k: v for k, v in params.items() if v is not None},
            headers={"content-type": ARROW_STREAM},
        )
        return TableInfo.model_validate(body)

    def list_refreshes(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[dict[str, Any]]:
        data = self._http.get(_table(name) + "/refreshes", limit=limit, page_token=page_token)
        for r in data["items"]:
            r["expectations"] = [ExpectationResult.model_validate(e) for e in r["expectations"]]
        return Page[dict[str, Any]](items=data["items"], next_page_token=data["next_page_token"])
