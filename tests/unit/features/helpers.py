"""Shared helpers of the feature store tests: lake tables and a brute-force PIT reference."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from shipyard.features.entities import frame_to_arrow
from shipyard.platform import Platform

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def write_table(platform: Platform, name: str, df: pd.DataFrame, mode: str = "overwrite") -> None:
    """Write a lake table through the lake service (a cataloged ``table`` asset)."""
    # Arrow first: pandas 3 warns when pyarrow converts zone-aware columns itself.
    data = frame_to_arrow(df)
    platform.lake.write(name, data, mode=mode, schema_evolution=True)  # type: ignore[arg-type]


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def brute_force(
    entity: pd.DataFrame,
    source: pd.DataFrame,
    *,
    key: str,
    ts: str,
    features: list[str],
    ttl: timedelta | None,
    created: str | None = None,
    filter_created: bool = False,
    entity_ts: str = "event_timestamp",
) -> list[dict[str, Any]]:
    """The point-in-time rules, written as plainly as possible."""
    out = []
    rows = source.to_dict("records")
    for e in entity.to_dict("records"):
        t = pd.Timestamp(e[entity_ts])
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        best = None
        for r in rows:
            if r[key] != e[key]:
                continue
            rt = pd.Timestamp(r[ts]).tz_convert("UTC")
            if rt > t or (ttl and rt < t - ttl):
                continue
            if filter_created and created and pd.Timestamp(r[created]).tz_convert("UTC") > t:
                continue
            rank = (rt, pd.Timestamp(r[created]) if created else 0)
            if best is None or rank > best[0]:
                best = (rank, r)
        out.append({f: (best[1][f] if best else None) for f in features})
    return out


def same(a: Any, b: Any) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a))
    b_null = b is None or (isinstance(b, float) and math.isnan(b))
    if a_null or b_null:
        return a_null and b_null
    return bool(a == b)
