"""Usage rows, the metrics they carry, and reports priced by the settings' price list."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    import pyarrow as pa

#: The lake table of metered usage (one row per team, principal, resource and hour): the
#: issue's ``system.usage``. DuckDB reserves the catalog name ``system``, so a lake
#: layer cannot be called that; the table lives in ``datasets`` (ADR 0019).
USAGE_TABLE = "datasets.usage"

#: The metrics of a usage row; each may have a price per unit in ``usage.prices``.
METRICS = (
    "cpu_seconds",
    "peak_memory_bytes",
    "requests",
    "compute_seconds",
    "stored_bytes",
    "online_rows",
)

#: The columns of ``usage_schema()`` (what a usage row holds), in order.
USAGE_COLUMNS = (
    "hour",
    "team",
    "principal",
    "kind",  # job, batch_scoring, deployment, table, artifacts, online, idle
    "resource",
    *METRICS,
)


@functools.cache
def usage_schema() -> pa.Schema:
    """The Arrow schema of the usage table, built on first use (a worker that meters its
    jobs does not import pyarrow)."""
    import pyarrow as pa

    floats = ("cpu_seconds", "compute_seconds")
    return pa.schema(
        [("hour", pa.timestamp("us", tz="UTC"))]
        + [(c, pa.string()) for c in USAGE_COLUMNS[1:5]]
        + [(c, pa.float64() if c in floats else pa.int64()) for c in METRICS]
    )


#: Team and principal of rows that belong to no one (idle capacity, unowned artifacts).
NOBODY = "-"

GroupBy = Literal["team", "principal", "resource", "kind"]


class JobUsage(BaseModel):
    """What one finished job used (a worker's measurement)."""

    team: str
    principal: str
    kind: str = "job"
    resource: str
    cpu_seconds: float = Field(ge=0)
    peak_memory_bytes: int = Field(ge=0)
    ts: datetime | None = None


class MeterResult(BaseModel):
    hour: datetime
    rows: int
    skipped: bool = False
    cpu_seconds: float = 0.0
    idle_cpu_seconds: float = 0.0


class UsageLine(BaseModel):
    """One line of a report: a group's totals and their cost."""

    key: str
    cpu_seconds: float = 0.0
    peak_memory_bytes: int = 0
    requests: int = 0
    compute_seconds: float = 0.0
    #: Stored bytes and online rows are averaged over the hours metered (byte-hours / hours).
    stored_bytes: float = 0.0
    online_rows: float = 0.0
    cost: float = 0.0


class UsageReport(BaseModel):
    month: str
    by: str
    currency: str
    hours: int
    lines: list[UsageLine]
    total_cost: float
