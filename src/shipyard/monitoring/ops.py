"""The monitoring operation table: the client and the API routes are made from it (ADR 0015)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from annotated_types import Interval
from pydantic import Field

from shipyard._internal.ops import Op, Version

DEPLOYMENT = "/monitoring/deployments/{deployment}"
TABLE = "/monitoring/tables/{table}"
#: Seconds of inference log a drift run covers (up to a year).
WindowSeconds = Annotated[float, Interval(gt=0, le=366 * 86400)]
#: How many stored reports or snapshots a list returns (newest first).
#: An SLO's name: lower case, digits, ``-`` and ``_``.
SLOName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
SLO_PATH = DEPLOYMENT + "/slos/{name}"
RECENT = {"limit": Annotated[int, Interval(ge=1, le=1000)]}

OPS = {
    "profile_table": Op(
        "POST",
        "/monitoring/profiles",
        status=201,
        types={
            "table": Annotated[str, Field(min_length=1, max_length=512)],
            "version": Version | None,
            "columns": Annotated[list[str], Field(max_length=10_000)] | None,
        },
    ),
    "profile_model_version": Op(
        "POST",
        "/monitoring/profiles/model/{name}/{version}",
        status=201,
        types={"version": Version},
    ),
    "get_profile": Op(
        "GET",
        "/monitoring/profiles/{kind}/{name}",
        types={"kind": Literal["model", "table"], "version": Version | None},
    ),
    "run_drift": Op(
        "POST",
        DEPLOYMENT + "/drift",
        status=201,
        types={
            "window_seconds": WindowSeconds,
            "end": datetime | None,
            "thresholds": Annotated[dict[str, float], Field(max_length=5)] | None,
            "features": Annotated[
                list[Annotated[str, Field(max_length=512)]], Field(max_length=10_000)
            ]
            | None,
        },
    ),
    "list_drift_reports": Op("GET", DEPLOYMENT + "/drift", types=RECENT),
    "model_performance": Op(
        "GET",
        DEPLOYMENT + "/performance",
        types={"window_seconds": WindowSeconds, "bucket_seconds": WindowSeconds | None},
    ),
    "check_table_quality": Op("POST", TABLE + "/quality", status=201),
    "table_quality": Op("GET", TABLE + "/quality", types=RECENT),
    "feature_freshness": Op("GET", "/monitoring/features/freshness"),
    "put_slo": Op(
        "PUT",
        SLO_PATH,
        types={
            "name": SLOName,
            "kind": Literal["latency", "availability"],
            "objective": Annotated[float, Interval(gt=0, lt=1)],
            "threshold_ms": Annotated[float, Interval(gt=0, le=3_600_000)] | None,
            "period_seconds": Annotated[float, Interval(ge=3600, le=366 * 86400)],
            "min_requests": Annotated[int, Interval(ge=1, le=10**9)],
        },
    ),
    "list_slos": Op("GET", DEPLOYMENT + "/slos"),
    "delete_slo": Op("DELETE", SLO_PATH, types={"name": SLOName}),
    "evaluate_slos": Op(
        "POST",
        DEPLOYMENT + "/slos/evaluate",
        status=200,
        optional_body=True,
        types={"end": datetime | None},
    ),
    "list_incidents": Op("GET", DEPLOYMENT + "/incidents", types=RECENT),
    "scorecard": Op("GET", "/scorecard", types={"days": Annotated[float, Interval(gt=0, le=366)]}),
}
