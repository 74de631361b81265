"""The lake's operation table: the client and the API routes are made from it (ADR 0015).

Reading, writing and SQL (rows as JSON or an Arrow stream) are written out on
both sides; so is ``list_definitions`` (not part of ``LakeAPI``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import Interval

from shipyard._internal.ops import Limit, Op, Version
from shipyard.lake.models import TableDefinition

TABLE = "/lake/tables/{name}"

OPS = {
    "list_tables": Op("GET", "/lake/tables"),
    "get_table": Op("GET", TABLE),
    "history": Op("GET", TABLE + "/history", types={"limit": Limit | None}),
    "define": Op(
        "POST",
        "/lake/definitions",
        status=201,
        types={"definition": dict[str, Any]},  # a TableDefinition (SQL only over HTTP)
        parse={"definition": TableDefinition.model_validate},
    ),
    "get_definition": Op("GET", TABLE + "/definition"),
    "refresh": Op("POST", TABLE + "/refresh", optional_body=True),
    "refresh_all": Op("POST", "/lake/refresh", optional_body=True),
    "restore": Op(
        "POST", TABLE + "/restore", types={"version": Version | None, "as_of": datetime | None}
    ),
    "optimize": Op(
        "POST",
        TABLE + "/optimize",
        optional_body=True,
        types={"target_size": Annotated[int, Interval(gt=0)] | None},
    ),
    "vacuum": Op(
        "POST",
        TABLE + "/vacuum",
        optional_body=True,
        types={"retention_hours": Annotated[int, Interval(ge=0, le=100_000)]},
    ),
    "apply_changes": Op(
        "POST",
        TABLE + "/changes",
        wire={"changes": "records"},
        types={"changes": list[dict[str, Any]]},
    ),
    "list_refreshes": Op("GET", TABLE + "/refreshes"),
    "describe_column": Op("PATCH", TABLE + "/columns/{column}"),
    "column_lineage": Op("GET", "/lake/columns/{column}/lineage"),
}
