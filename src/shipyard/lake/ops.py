"""The lake's operation table: the client and the API routes are made from it (ADR 0015).

Reading, writing and SQL (rows as JSON or an Arrow stream) are written out on
both sides; so is ``list_definitions`` (not part of ``LakeAPI``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import Interval

from shipyard._internal.ops import Limit, Op, Version
from shipyard.errors import InvalidArgument
from shipyard.lake.models import ExpectationResult, TableDefinition

TABLE = "/lake/tables/{name}"


def _definition(definition: TableDefinition) -> dict[str, Any]:
    if definition.function is not None:
        raise InvalidArgument("Python function definitions cannot be sent over HTTP")
    return definition.model_dump(mode="json")


def _refreshes(page: dict[str, Any]) -> dict[str, Any]:
    """Each refresh's expectation results as models, as the service returns them."""
    for r in page["items"]:
        r["expectations"] = [ExpectationResult.model_validate(e) for e in r["expectations"]]
    return page


def _records(changes: Any) -> list[dict[str, Any]]:
    from shipyard.lake.writes import to_arrow

    return to_arrow(changes).to_pylist()


OPS = {
    "list_tables": Op("GET", "/lake/tables"),
    "get_table": Op("GET", TABLE),
    "history": Op("GET", TABLE + "/history", types={"limit": Limit | None}),
    "define": Op(
        "POST",
        "/lake/definitions",
        status=201,
        encode={"definition": _definition},  # SQL only over HTTP
        parse={"definition": TableDefinition.model_validate},
        types={"definition": dict[str, Any]},
    ),
    "get_definition": Op("GET", TABLE + "/definition"),
    "refresh": Op(
        "POST",
        TABLE + "/refresh",
        optional_body=True,
        job="lake.refresh",
        job_args={"name": "table"},
    ),
    "refresh_all": Op("POST", "/lake/refresh", optional_body=True, job="lake.refresh_all"),
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
        encode={"changes": _records},
        types={"changes": list[dict[str, Any]]},
    ),
    "list_refreshes": Op("GET", TABLE + "/refreshes", decode=_refreshes),
    "describe_column": Op("PATCH", TABLE + "/columns/{column}"),
    "column_lineage": Op("GET", "/lake/columns/{column}/lineage"),
}
