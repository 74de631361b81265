"""Monitoring routes: profiles, drift reports, and the Prometheus scrape at ``/metrics``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from annotated_types import Interval
from fastapi import APIRouter, Response
from pydantic import Field

from shipyard.api.deps import Caller
from shipyard.api.params import Body, Version
from shipyard.monitoring.metrics import CONTENT_TYPE
from shipyard.monitoring.models import DriftReport, Profile
from shipyard.monitoring.performance import PerformanceReport
from shipyard.monitoring.quality import FeatureFreshness, QualitySnapshot
from shipyard.monitoring.scorecard import Scorecard

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
root_router = APIRouter(tags=["monitoring"])

#: Seconds of inference log a drift run covers (up to a year).
WindowSeconds = Annotated[float, Interval(gt=0, le=366 * 86400)]


class TableProfileIn(Body):
    table: str = Field(min_length=1, max_length=512)
    version: Version | None = None
    columns: list[str] | None = Field(default=None, max_length=10_000)


class DriftIn(Body):
    window_seconds: WindowSeconds = 3600.0
    #: The window's end (default: now), to score a past window again.
    end: datetime | None = None


@router.post("/profiles", status_code=201)
def profile_table(platform: Caller, body: TableProfileIn) -> Profile:
    return platform.monitoring.profile_table(body.table, version=body.version, columns=body.columns)


@router.post("/profiles/model/{name}/{version}", status_code=201)
def profile_model_version(platform: Caller, name: str, version: Version) -> Profile:
    return platform.monitoring.profile_model_version(name, version)


@router.get("/profiles/{kind}/{name}")
def get_profile(
    platform: Caller, kind: Literal["model", "table"], name: str, version: Version | None = None
) -> Profile:
    return platform.monitoring.get_profile(kind, name, version)


@router.post("/deployments/{name}/drift", status_code=201)
def run_drift(platform: Caller, name: str, body: DriftIn) -> DriftReport:
    return platform.monitoring.run_drift(name, window_seconds=body.window_seconds, end=body.end)


@router.get("/deployments/{name}/drift")
def list_drift_reports(
    platform: Caller, name: str, limit: Annotated[int, Interval(ge=1, le=1000)] = 20
) -> list[DriftReport]:
    return platform.monitoring.list_drift_reports(name, limit=limit)


@router.get("/deployments/{name}/performance")
def model_performance(
    platform: Caller,
    name: str,
    window_seconds: WindowSeconds = 7 * 86400.0,
    bucket_seconds: WindowSeconds | None = None,
    end: datetime | None = None,
) -> PerformanceReport:
    return platform.monitoring.model_performance(
        name, window_seconds=window_seconds, bucket_seconds=bucket_seconds, end=end
    )


@router.post("/tables/{name}/quality", status_code=201)
def check_table_quality(platform: Caller, name: str) -> QualitySnapshot:
    return platform.monitoring.check_table_quality(name)


@router.get("/tables/{name}/quality")
def table_quality(
    platform: Caller, name: str, limit: Annotated[int, Interval(ge=1, le=1000)] = 20
) -> list[QualitySnapshot]:
    return platform.monitoring.table_quality(name, limit=limit)


@router.get("/features/freshness")
def feature_freshness(platform: Caller) -> list[FeatureFreshness]:
    return platform.monitoring.feature_freshness()


@root_router.get("/api/v1/scorecard")
def scorecard(platform: Caller, days: Annotated[float, Interval(gt=0, le=366)] = 28.0) -> Scorecard:
    return platform.monitoring.scorecard(days=days)


@root_router.get("/metrics", response_class=Response)
def metrics(platform: Caller) -> Response:
    return Response(platform.monitoring.metrics_text(), media_type=CONTENT_TYPE)
