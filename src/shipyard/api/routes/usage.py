"""Usage metering and chargeback (issue #16)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from shipyard.api.deps import Caller
from shipyard.api.params import Body
from shipyard.usage.models import MeterResult, UsageReport

router = APIRouter(tags=["usage"])


class Meter(Body):
    #: The hour to meter (its start, UTC); null: the last complete hour.
    hour: datetime | None = None


@router.get("/usage")
def usage_report(
    platform: Caller,
    by: Literal["team", "principal", "resource", "kind"] = "team",
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", max_length=7)] = None,
    team: str | None = None,
) -> UsageReport:
    return platform.usage.report(by=by, month=month, team=team)


@router.post("/usage/meter")
def meter_usage(platform: Caller, body: Meter | None = None) -> MeterResult:
    return platform.usage.meter(body.hour if body is not None else None)
