"""``RemoteLakeService``: ``LakeAPI`` over HTTP (rows travel as Arrow IPC).

The plain calls come from the operation table; reads, SQL and writes are
written out (``@local``, with ``LakeAPI``'s signatures) because their rows
travel as an Arrow stream, not JSON.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from shipyard.client.ops import API, Args, RemoteService, jsonable, local, segment
from shipyard.features.wire import ARROW_STREAM, from_ipc, to_ipc
from shipyard.lake.models import TableInfo
from shipyard.lake.ops import OPS, TABLE
from shipyard.lake.protocol import LakeAPI


def _table(name: str) -> str:
    return API + TABLE.format(name=segment(name))


class RemoteLakeService(RemoteService, LakeAPI, ops=OPS):
    """``LakeService`` over HTTP; ``ingest`` of server-side files is not offered."""

    def _arrow(self, method: str, path: str, **kwargs: Any) -> pa.Table:
        headers = {"accept": ARROW_STREAM, **kwargs.pop("headers", {})}
        return from_ipc(self._http.request(method, path, headers=headers, **kwargs))

    @local(LakeAPI.read)
    def read(self, a: Args) -> pa.Table:
        params = {"version": a["version"], "as_of": jsonable(a["as_of"]), "filter": a["filter"]}
        params = {k: v for k, v in params.items() if v is not None}
        tbl = self._arrow("GET", _table(a["name"]) + "/rows", params=params)
        return tbl.select(a["columns"]) if a["columns"] else tbl

    @local(LakeAPI.sql)
    def sql(self, a: Args) -> pa.Table:
        body = {"query": a["statement"], "versions": a["versions"], "as_of": jsonable(a["as_of"])}
        return self._arrow("POST", f"{API}/lake/sql", json={**body, "format": "arrow"})

    @local(LakeAPI.write)
    def write(self, a: Args) -> TableInfo:
        from shipyard.lake.writes import to_arrow

        name, data = a.pop("name"), a.pop("data")
        if a["source"] == "api":  # the server says "api:arrow"
            a["source"] = None
        body = self._http.request(
            "POST",
            _table(name) + "/rows",
            content=to_ipc(to_arrow(data)),
            params={k: v for k, v in a.items() if v is not None},
            headers={"content-type": ARROW_STREAM},
        )
        return TableInfo.model_validate(body)
