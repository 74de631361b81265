from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from shipyard.features import Entity, Feature, FeatureService, FeatureView
from shipyard.platform import Platform
from tests.unit.features.helpers import day, write_table

FEATURES = [Feature(f"f{i}", "float64") for i in range(6)] + [
    Feature("n", "int64"),
    Feature("flag", "bool"),
]


def customer_source(days: list[float], keys: list[int], base: float = 0.0) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "customer_id": keys,
        "event_ts": [day(d) for d in days],
    }
    for i in range(6):
        data[f"f{i}"] = [base + k + i / 10 + d for k, d in zip(keys, days, strict=True)]
    data["n"] = [int(d) for d in days]
    data["flag"] = [k % 2 == 0 for k in keys]
    return pd.DataFrame(data)


@pytest.fixture
def customer_view(platform: Platform) -> FeatureView:
    """gold.customer_daily with 8 features; keys 1..3 on days 1..3, TTL none."""
    write_table(
        platform, "gold.customer_daily", customer_source([1, 2, 3, 1, 2, 1], [1, 1, 1, 2, 2, 3])
    )
    view = FeatureView(
        name="customer_daily",
        entities=["customer"],
        source="gold.customer_daily",
        timestamp_field="event_ts",
        features=list(FEATURES),
        ttl=None,
    )
    platform.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="churn", features=[view]),
        ]
    )
    return view


__all__ = ["customer_source", "day", "timedelta"]
