"""``RemoteLakeService``: the lake service over HTTP (rows travel as Arrow IPC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
import pyarrow as pa

from shipyard.client.http import HttpTransport
from shipyard.errors import InvalidArgument
from shipyard.lake.models import (
    ChangesResult,
    ColumnLineage,
    ExpectationResult,
    HistoryEntry,
    MaintenanceResult,
    RefreshResult,
    TableDefinition,
    TableInfo,
)

API = "/api/v1/lake"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _to_ipc(tbl: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(body: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.BufferReader(body)).read_all()


class RemoteLakeService:
    """Same methods as ``LakeService``; ``ingest`` of server-side files is not offered."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def _arrow(self, method: str, path: str, **kwargs: Any) -> pa.Table:
        headers = {"accept": ARROW_STREAM, **kwargs.pop("headers", {})}
        return _from_ipc(self._http.request(method, path, headers=headers, **kwargs))

    def list_tables(self, *, layer: str | None = None) -> list[TableInfo]:
        return [TableInfo.model_validate(t) for t in self._http.get(f"{API}/tables", layer=layer)]

    def get_table(self, name: str) -> TableInfo:
        return TableInfo.model_validate(self._http.get(f"{API}/tables/{name}"))

    def history(self, name: str, *, limit: int | None = None) -> list[HistoryEntry]:
        data = self._http.get(f"{API}/tables/{name}/history", limit=limit)
        return [HistoryEntry.model_validate(h) for h in data]

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
    ) -> pa.Table:
        params = {
            k: v
            for k, v in {
                "version": version,
                "as_of": as_of.isoformat() if isinstance(as_of, datetime) else as_of,
                "filter": filter,
            }.items()
            if v is not None
        }
        tbl = self._arrow("GET", f"{API}/tables/{name}/rows", params=params)
        return tbl.select(columns) if columns else tbl

    def sql(
        self,
        statement: str,
        *,
        versions: dict[str, int] | None = None,
        as_of: datetime | str | None = None,
    ) -> pa.Table:
        when = as_of.isoformat() if isinstance(as_of, datetime) else as_of
        body = {"query": statement, "versions": versions, "as_of": when, "format": "arrow"}
        return self._arrow("POST", f"{API}/sql", json=body)

    def write(
        self,
        name: str,
        data: Any,
        mode: Literal["append", "overwrite"] = "append",
        *,
        batch_id: str | None = None,
        schema_evolution: bool = False,
        **_: Any,
    ) -> TableInfo:
        from shipyard.lake.writes import to_arrow

        params = {"mode": mode, "schema_evolution": str(schema_evolution).lower()}
        if batch_id:
            params["batch_id"] = batch_id
        body = self._http.request(
            "POST",
            f"{API}/tables/{name}/rows",
            content=_to_ipc(to_arrow(data)),
            params=params,
            headers={"content-type": ARROW_STREAM},
        )
        return TableInfo.model_validate(body)

    def define(self, definition: TableDefinition) -> TableInfo:
        if definition.function is not None:
            raise InvalidArgument("Python function definitions cannot be sent over HTTP")
        body = {"definition": definition.model_dump(mode="json")}
        return TableInfo.model_validate(self._http.post(f"{API}/definitions", body))

    def get_definition(self, name: str) -> TableDefinition:
        return TableDefinition.model_validate(self._http.get(f"{API}/tables/{name}/definition"))

    def refresh(self, name: str, *, full: bool = False) -> RefreshResult:
        return RefreshResult.model_validate(
            self._http.post(f"{API}/tables/{name}/refresh", {"full": full})
        )

    def refresh_all(self, *, full: bool = False) -> list[RefreshResult]:
        return [
            RefreshResult.model_validate(r)
            for r in self._http.post(f"{API}/refresh", {"full": full})
        ]

    def restore(
        self, name: str, *, version: int | None = None, as_of: datetime | str | None = None
    ) -> TableInfo:
        body = {
            "version": version,
            "as_of": as_of.isoformat() if isinstance(as_of, datetime) else as_of,
        }
        return TableInfo.model_validate(self._http.post(f"{API}/tables/{name}/restore", body))

    def optimize(self, name: str, *, z_order: list[str] | None = None) -> MaintenanceResult:
        return MaintenanceResult.model_validate(
            self._http.post(f"{API}/tables/{name}/optimize", {"z_order": z_order})
        )

    def vacuum(
        self,
        name: str,
        *,
        retention_hours: int = 168,
        dry_run: bool = False,
        force: bool = False,
    ) -> MaintenanceResult:
        body = {"retention_hours": retention_hours, "dry_run": dry_run, "force": force}
        return MaintenanceResult.model_validate(
            self._http.post(f"{API}/tables/{name}/vacuum", body)
        )

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
    ) -> ChangesResult:
        from shipyard.lake.writes import to_arrow

        body = {
            "records": to_arrow(changes).to_pylist(),
            "keys": keys,
            "sequence_by": sequence_by,
            "operation_column": operation_column,
            "delete_value": delete_value,
            "batch_id": batch_id,
        }
        return ChangesResult.model_validate(
            self._http.request(
                "POST",
                f"{API}/tables/{name}/changes",
                content=orjson.dumps(body, default=str),
                headers={"content-type": "application/json"},
            )
        )

    def list_refreshes(self, name: str, *, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._http.get(f"{API}/tables/{name}/refreshes", limit=limit)
        for r in rows:
            r["expectations"] = [ExpectationResult.model_validate(e) for e in r["expectations"]]
        return list(rows)

    def describe_column(
        self,
        name: str,
        column: str,
        *,
        description: str | None = None,
        tags: list[str] | None = None,
    ) -> TableInfo:
        body = {"description": description, "tags": tags}
        return TableInfo.model_validate(
            self._http.patch(f"{API}/tables/{name}/columns/{column}", body)
        )

    def column_lineage(self, column: str, *, depth: int = 10) -> ColumnLineage:
        return ColumnLineage.model_validate(
            self._http.get(f"{API}/columns/{column}/lineage", depth=depth)
        )
