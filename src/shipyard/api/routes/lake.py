"""Lake routes: parse, call one service method, serialise.

Rows travel as JSON records or, for bulk, as an Arrow IPC stream
(``application/vnd.apache.arrow.stream``) in either direction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from shipyard._internal.paging import Page
from shipyard.api.accepted import ACCEPTED, Wait, accepted
from shipyard.api.deps import Caller
from shipyard.api.params import Body, Limit, PageSize, Version
from shipyard.errors import InvalidArgument
from shipyard.lake.models import (
    ChangesResult,
    ColumnLineage,
    HistoryEntry,
    MaintenanceResult,
    RefreshResult,
    TableDefinition,
    TableInfo,
)

router = APIRouter(prefix="/lake", tags=["lake"])

ARROW_STREAM = "application/vnd.apache.arrow.stream"


def _arrow_bytes(tbl: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    return bytes(sink.getvalue().to_pybytes())


def _rows_response(tbl: pa.Table, request: Request, fmt: str | None) -> Response:
    if fmt == "arrow" or ARROW_STREAM in request.headers.get("accept", ""):
        return Response(_arrow_bytes(tbl), media_type=ARROW_STREAM)
    body = {
        "columns": [{"name": f.name, "type": str(f.type)} for f in tbl.schema],
        "rows": tbl.to_pylist(),
        "num_rows": tbl.num_rows,
    }
    return Response(orjson.dumps(body, default=str), media_type="application/json")


def _read_arrow(body: bytes) -> pa.Table:
    try:
        return pa.ipc.open_stream(pa.BufferReader(body)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidArgument(f"the body is not an Arrow IPC stream: {exc}") from None


class RowsIn(Body):
    records: list[dict[str, Any]]
    mode: Literal["append", "overwrite"] = "append"
    batch_id: str | None = None
    source: str = "api"
    schema_evolution: bool = False
    owner: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    sources: list[str] | None = None
    operation: str = "write"


class SqlIn(Body):
    query: str
    versions: dict[str, int] | None = None
    as_of: datetime | None = None
    format: Literal["json", "arrow"] = "json"


class RefreshIn(Body):
    full: bool = False


class RestoreIn(Body):
    version: Version | None = None
    as_of: datetime | None = None


class OptimizeIn(Body):
    z_order: list[str] | None = None
    target_size: int | None = Field(default=None, gt=0)


class VacuumIn(Body):
    retention_hours: int = Field(default=168, ge=0, le=100_000)
    dry_run: bool = False
    force: bool = False


class DefinitionIn(Body):
    definition: dict[str, Any] = Field(description="A TableDefinition (SQL only over HTTP).")


class ColumnIn(Body):
    description: str | None = None
    tags: list[str] | None = None


class ChangesIn(Body):
    records: list[dict[str, Any]]
    keys: list[str]
    sequence_by: str
    operation_column: str = "op"
    delete_value: str = "DELETE"
    batch_id: str | None = None
    owner: str | None = None


@router.get("/tables")
def list_tables(
    platform: Caller,
    layer: str | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[TableInfo]:
    return platform.lake.list_tables(layer=layer, limit=limit, page_token=page_token)


@router.get("/tables/{name}")
def get_table(platform: Caller, name: str) -> TableInfo:
    return platform.lake.get_table(name)


@router.get("/tables/{name}/history")
def history(platform: Caller, name: str, limit: Limit | None = None) -> list[HistoryEntry]:
    return platform.lake.history(name, limit=limit)


@router.get("/tables/{name}/rows")
def read_rows(
    platform: Caller,
    request: Request,
    name: str,
    version: Version | None = None,
    as_of: datetime | None = None,
    filter: str | None = None,
    format: str | None = None,
) -> Response:
    tbl = platform.lake.read(name, version=version, as_of=as_of, filter=filter)
    return _rows_response(tbl, request, format)


@router.post("/tables/{name}/rows")
async def write_rows(
    platform: Caller,
    request: Request,
    name: str,
    mode: Literal["append", "overwrite"] = "append",
    batch_id: str | None = None,
    source: str | None = None,
    schema_evolution: bool = False,
    owner: str | None = None,
    description: str | None = None,
    tags: Annotated[list[str] | None, Query()] = None,
    sources: Annotated[list[str] | None, Query()] = None,
    operation: str = "write",
) -> TableInfo:
    """JSON ``{"records": [...]}`` or an Arrow IPC stream body (options as query params)."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith(ARROW_STREAM):
        data: Any = _read_arrow(body)
        opts = RowsIn(
            records=[],
            mode=mode,
            batch_id=batch_id,
            source=source or "api:arrow",
            schema_evolution=schema_evolution,
            owner=owner,
            description=description,
            tags=tags,
            sources=sources,
            operation=operation,
        )
    else:
        try:
            opts = RowsIn.model_validate_json(body)
        except ValueError as exc:
            raise InvalidArgument(f"expected {{'records': [...]}}: {exc}") from None
        data = opts.records
        opts.batch_id = opts.batch_id or batch_id
        opts.schema_evolution = opts.schema_evolution or schema_evolution
    return await run_in_threadpool(
        platform.lake.write,
        name,
        data,
        opts.mode,
        **opts.model_dump(exclude={"records", "mode"}),
    )


@router.post("/sql")
def sql(platform: Caller, request: Request, body: SqlIn) -> Response:
    tbl = platform.lake.sql(body.query, versions=body.versions, as_of=body.as_of)
    return _rows_response(tbl, request, body.format)


@router.post("/definitions", status_code=201)
def define(platform: Caller, body: DefinitionIn) -> TableInfo:
    return platform.lake.define(TableDefinition.model_validate(body.definition))


@router.get("/definitions")
def list_definitions(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> Page[TableDefinition]:
    return platform.lake.list_definitions(limit=limit, page_token=page_token)


@router.get("/tables/{name}/definition")
def get_definition(platform: Caller, name: str) -> TableDefinition:
    return platform.lake.get_definition(name)


@router.post("/tables/{name}/refresh", response_model=RefreshResult, responses=ACCEPTED)
def refresh(platform: Caller, name: str, body: RefreshIn | None = None, wait: Wait = False) -> Any:
    if not wait:
        params = {"table": name, "full": bool(body and body.full)}
        return accepted(platform.jobs.submit_action("lake.refresh", params))
    return platform.lake.refresh(name, full=bool(body and body.full))


@router.post("/refresh", response_model=list[RefreshResult], responses=ACCEPTED)
def refresh_all(platform: Caller, body: RefreshIn | None = None, wait: Wait = False) -> Any:
    if not wait:
        params = {"full": bool(body and body.full)}
        return accepted(platform.jobs.submit_action("lake.refresh_all", params))
    return platform.lake.refresh_all(full=bool(body and body.full))


@router.post("/tables/{name}/restore")
def restore(platform: Caller, name: str, body: RestoreIn) -> TableInfo:
    return platform.lake.restore(name, version=body.version, as_of=body.as_of)


@router.post("/tables/{name}/optimize")
def optimize(platform: Caller, name: str, body: OptimizeIn | None = None) -> MaintenanceResult:
    b = body or OptimizeIn()
    return platform.lake.optimize(name, z_order=b.z_order, target_size=b.target_size)


@router.post("/tables/{name}/vacuum")
def vacuum(platform: Caller, name: str, body: VacuumIn | None = None) -> MaintenanceResult:
    b = body or VacuumIn()
    return platform.lake.vacuum(
        name, retention_hours=b.retention_hours, dry_run=b.dry_run, force=b.force
    )


@router.post("/tables/{name}/changes")
def apply_changes(platform: Caller, name: str, body: ChangesIn) -> ChangesResult:
    return platform.lake.apply_changes(
        name,
        body.records,
        keys=body.keys,
        sequence_by=body.sequence_by,
        operation_column=body.operation_column,
        delete_value=body.delete_value,
        batch_id=body.batch_id,
        owner=body.owner,
    )


@router.get("/tables/{name}/refreshes")
def list_refreshes(
    platform: Caller, name: str, limit: PageSize | None = None, page_token: str | None = None
) -> Page[dict[str, Any]]:
    return platform.lake.list_refreshes(name, limit=limit, page_token=page_token)


@router.patch("/tables/{name}/columns/{column}")
def describe_column(platform: Caller, name: str, column: str, body: ColumnIn) -> TableInfo:
    return platform.lake.describe_column(name, column, description=body.description, tags=body.tags)


@router.get("/columns/{column}/lineage")
def column_lineage(platform: Caller, column: str, depth: int = 10) -> ColumnLineage:
    return platform.lake.column_lineage(column, depth=depth)
