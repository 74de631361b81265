"""Shared helpers of the feature store tests: lake tables and a brute-force PIT reference."""

from __future__ import annotations

import math
import subprocess
import sys
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


def apply_in_another_process(platform: Platform, definitions: str) -> None:
    """Run ``platform.features.apply([<definitions>])`` in a new Python process.

    ``definitions`` is Python source over the names of ``shipyard.features``.
    """
    code = (
        "import sys\nfrom shipyard.features import *\nfrom shipyard.platform import Platform\n"
        "p = Platform.open(sys.argv[1], catalog={'url': sys.argv[2]})\n"
        f"p.features.apply([{definitions}], force=True)\np.close()"
    )
    project, url = platform.settings.project_dir, platform.settings.catalog_url
    subprocess.run([sys.executable, "-c", code, str(project), str(url)], check=True)


def assert_online_reads_follow_other_processes(platform: Platform) -> None:
    """An online read right after another process's ``apply`` uses the new definitions.

    Needs the ``customer_daily`` view (``FEATURES``) served as feature service ``churn``.
    """
    platform.features.materialize(["customer_daily"])
    read = platform.features.get_online_features
    before = read(feature_service="churn", entity_rows=[{"customer_id": 1}]).to_dict()
    assert {"f0", "f5", "flag"} <= set(before)
    apply_in_another_process(
        platform, "FeatureService(name='churn', features=['customer_daily:f0'])"
    )
    after = read(feature_service="churn", entity_rows=[{"customer_id": 1}]).to_dict()
    assert set(after) == {"customer_id", "f0"} and after["f0"] == before["f0"]


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
