"""``RemoteLakeService``: ``LakeAPI`` over HTTP (rows travel as Arrow IPC).

The plain calls come from the operation table; reads, SQL and writes are
written out because their rows travel as an Arrow stream, not JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa

from shipyard._internal.paging import Page
from shipyard.client.ops import API, RemoteService, jsonable, segment
from shipyard.errors import InvalidArgument
from shipyard.lake.models import ChangesResult, ExpectationResult, TableDefinition, TableInfo
from shipyard.lake.ops import OPS, TABLE
from shipyard.lake.protocol import LakeAPI

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _to_ipc(tbl: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(body: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.BufferReader(body)).read_all()


def _table(name: str) -> str:
    return API + TABLE.format(name=segment(name))


class RemoteLakeService(RemoteService, LakeAPI, ops=OPS):
    """``LakeService`` over HTTP; ``ingest`` of server-side files is not offered."""

    def _arrow(self, method: str, path: str, **kwargs: Any) -> pa.Table:
        headers = {"accept": ARROW_STREAM, **kwargs.pop("headers", {})}
        return _from_ipc(self._http.request(method, path, headers=headers, **kwargs))

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
            content=_to_ipc(to_arrow(data)),
            params={k: v for k, v in params.items() if v is not None},
            headers={"content-type": ARROW_STREAM},
        )
        return TableInfo.model_validate(body)

    def define(self, definition: TableDefinition) -> TableInfo:
        if definition.function is not None:
            raise InvalidArgument("Python function definitions cannot be sent over HTTP")
        body = {"definition": definition.model_dump(mode="json")}
        return TableInfo.model_validate(self._http.post(f"{API}/lake/definitions", body))

    def apply_changes(
        self,
        name: str,
        changes: Any,
        *,
        keys: list[str],
        sequence_by: str,
        operation_column: str = "op",
        delete_value: str = "DELETE",
        batch_id: str | None = None,
        owner: str | None = None,
    ) -> ChangesResult:
        from shipyard.lake.writes import to_arrow

        body = {
            "records": to_arrow(changes).to_pylist(),
            "keys": keys,
            "sequence_by": sequence_by,
            "operation_column": operation_column,
            "delete_value": delete_value,
            "batch_id": batch_id,
            "owner": owner,
        }
        return ChangesResult.model_validate(
            self._http.request(
                "POST",
                _table(name) + "/changes",
                content=orjson.dumps(body, default=str),
                headers={"content-type": "application/json"},
            )
        )

    def list_refreshes(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[dict[str, Any]]:
        data = self._http.get(_table(name) + "/refreshes", limit=limit, page_token=page_token)
        for r in data["items"]:
            r["expectations"] = [ExpectationResult.model_validate(e) for e in r["expectations"]]
        return Page[dict[str, Any]](items=data["items"], next_page_token=data["next_page_token"])
