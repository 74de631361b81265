"""Lake: tables by layer, a table's schema, history and expectations, data and quarantine
previews, and a read-only SQL editor with paging."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from shipyard.errors import NotFound
from shipyard.lake.models import LAYERS, quarantine_name
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, is_fragment, page
from shipyard.ui.tables import grid, statement_page, table_page

router = APIRouter(route_class=UIRoute)
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
TableName = Annotated[str, Query(max_length=200)]


@router.get("/lake")
def tables(
    request: Request,
    session: Signed,
    layer: Annotated[str | None, Query(max_length=20)] = None,
    page_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> Response:
    found = session.view.lake.list_tables(layer=layer or None, limit=100, page_token=page_token)
    return page(
        request, "lake/tables.html", nav="lake", found=found, layers=LAYERS, layer=layer or ""
    )


@router.get("/lake/sql")
def sql(
    request: Request,
    session: Signed,
    q: Annotated[str, Query(max_length=20_000)] = "",
    offset: Offset = 0,
) -> Response:
    result = None
    if q.strip():
        result = grid(session.view.lake.sql(statement_page(q, offset=offset)), offset)
    name = "lake/sql_result.html" if is_fragment(request) else "lake/sql.html"
    return page(request, name, nav="lake", q=q, result=result)


@router.get("/lake/{name}/columns/{column}/lineage.json")
def column_lineage_data(session: Signed, name: str, column: str) -> Response:
    """The columns that feed ``name.column``, in the lineage graph's element format."""
    graph = session.view.lake.column_lineage(f"{name}.{column}")
    columns = {graph.column, *(c for edge in graph.edges for c in edge)}
    elements: list[dict[str, Any]] = [
        {
            "data": {
                "id": c,
                "label": c,
                "kind": "column",
                "root": c == graph.column,
                "href": "/ui/lake/{}/columns/{}/lineage".format(*c.rsplit(".", 1)),
            }
        }
        for c in sorted(columns)
    ]
    elements += [
        {"data": {"id": f"e{i}", "source": fed_by, "target": col}}
        for i, (col, fed_by) in enumerate(graph.edges)
    ]
    return JSONResponse({"root": graph.column, "elements": elements})


@router.get("/lake/{name}/columns/{column}/lineage")
def column_lineage(request: Request, session: Signed, name: str, column: str) -> Response:
    info = session.view.lake.get_table(name)
    if column not in {c.name for c in info.columns}:
        raise NotFound(f"table {info.name} has no column '{column[:100]}'")
    return page(request, "lake/column_lineage.html", nav="lake", info=info, column=column)


@router.get("/lake/{name}/preview")
def preview(
    request: Request,
    session: Signed,
    name: str,
    where: Annotated[str, Query(max_length=2000)] = "",
    offset: Offset = 0,
) -> Response:
    info = session.view.lake.get_table(name)
    data = session.view.lake.sql(table_page(info.name, where=where or None, offset=offset))
    return page(
        request,
        "lake/grid.html" if is_fragment(request) else "lake/preview.html",
        nav="lake",
        info=info,
        where=where,
        result=grid(data, offset),
        base=f"/ui/lake/{info.name}/preview",
    )


@router.get("/lake/{name}/quarantine")
def quarantine(request: Request, session: Signed, name: str, offset: Offset = 0) -> Response:
    info = session.view.lake.get_table(name)
    try:
        data = session.view.lake.sql(
            table_page(quarantine_name(info.name), where=None, offset=offset)
        )
        result = grid(data, offset)
    except NotFound:
        result = None
    return page(
        request,
        "lake/grid.html" if is_fragment(request) else "lake/quarantine.html",
        nav="lake",
        info=info,
        result=result,
        base=f"/ui/lake/{info.name}/quarantine",
        where="",
    )


@router.get("/lake/{name}")
def table(request: Request, session: Signed, name: str) -> Response:
    lake = session.view.lake
    info = lake.get_table(name)
    history = lake.history(info.name, limit=50)
    refreshes = lake.list_refreshes(info.name, limit=20).items if info.defined else []
    definition = lake.get_definition(info.name) if info.defined else None
    ordered = sorted(history, key=lambda h: h.version)
    chart = {
        "x": [h.timestamp.timestamp() for h in ordered],
        "series": [
            {"label": "rows added", "values": [h.rows_added or 0 for h in ordered]},
            {"label": "rows removed", "values": [h.rows_removed or 0 for h in ordered]},
        ],
    }
    return page(
        request,
        "lake/table.html",
        nav="lake",
        info=info,
        history=history,
        refreshes=refreshes,
        definition=definition,
        chart=chart,
        can_write=session.can("write", info.owner),
    )
