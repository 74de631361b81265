"""Lake routes: made from the lake's operation table (``shipyard.lake.ops``) but for rows.

Rows travel as JSON records or, for bulk, as an Arrow IPC stream
(``application/vnd.apache.arrow.stream``) in either direction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
from fastapi import Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.params import Body, PageSize, Version
from shipyard.api.routing import CapabilityRouter
from shipyard.errors import InvalidArgument
from shipyard.features.wire import ARROW_STREAM, to_ipc
from shipyard.lake.models import TableDefinition, TableInfo
from shipyard.lake.ops import OPS
from shipyard.lake.protocol import LakeAPI

router = CapabilityRouter(prefix="/lake", tags=["lake"])
mount(router, "lake", LakeAPI, OPS)


def _rows_response(tbl: pa.Table, request: Request, fmt: str | None) -> Response:
    if fmt == "arrow" or ARROW_STREAM in request.headers.get("accept", ""):
        return Response(to_ipc(tbl), media_type=ARROW_STREAM)
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


@router.get("/definitions")
def list_definitions(
    platform: Caller, limit: PageSize | None = None, page_token: str | None = None
) -> Page[TableDefinition]:
    return platform.lake.list_definitions(limit=limit, page_token=page_token)
