"""Data quality of lake tables over time, and feature freshness per view. No I/O here.

A snapshot records, for one table at one Delta version: rows, the schema, null rates per
column (NaN counts as null), how long ago the table was last written, the expectation
results of its newest refresh (pass rate = passed / checked), and what changed in the
schema since the previous snapshot. Taken again and again (``shipyard monitor quality
--check`` from a schedule), the snapshots are the table's quality over time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field


class ExpectationRate(BaseModel):
    name: str
    passed: int
    failed: int
    pass_rate: float | None


class SchemaChange(BaseModel):
    added: dict[str, str] = Field(default_factory=dict)
    removed: dict[str, str] = Field(default_factory=dict)
    #: column -> [old type, new type]
    retyped: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.retyped)


class QualitySnapshot(BaseModel):
    id: str
    table: str
    owner: str
    version: int
    rows: int
    columns: dict[str, str]
    null_rates: dict[str, float]
    last_write_at: datetime | None
    freshness_seconds: float | None
    refreshed_version: int | None = None
    expectations: list[ExpectationRate] = Field(default_factory=list)
    #: Against the previous snapshot; ``None`` for the first one.
    schema_change: SchemaChange | None = None
    created_at: datetime
    created_by: str


class FeatureFreshness(BaseModel):
    view: str
    owner: str
    online: bool
    #: Newest event time materialized, and when that materialization finished.
    watermark: datetime | None = None
    last_materialized_at: datetime | None = None
    #: now - watermark: how old the newest served feature values are.
    lag_seconds: float | None = None
    ttl_seconds: float | None = None
    #: The lag exceeds the view's TTL (online reads would withhold the values).
    stale: bool = False


def null_rates(table: pa.Table) -> dict[str, float]:
    out: dict[str, float] = {}
    n = table.num_rows
    for name in table.column_names:
        col = table.column(name)
        nulls = col.null_count
        if pa.types.is_floating(col.type):
            nulls += int(pc.sum(pc.is_nan(col)).as_py() or 0)
        out[name] = nulls / n if n else 0.0
    return out


def schema_change(before: dict[str, str] | None, after: dict[str, str]) -> SchemaChange | None:
    if before is None:
        return None
    return SchemaChange(
        added={c: t for c, t in after.items() if c not in before},
        removed={c: t for c, t in before.items() if c not in after},
        retyped={c: [before[c], t] for c, t in after.items() if c in before and before[c] != t},
    )


def expectation_rates(results: list[Any]) -> list[ExpectationRate]:
    out = []
    for r in results:
        checked = r.passed + r.failed
        out.append(
            ExpectationRate(
                name=r.name,
                passed=r.passed,
                failed=r.failed,
                pass_rate=r.passed / checked if checked else None,
            )
        )
    return out
