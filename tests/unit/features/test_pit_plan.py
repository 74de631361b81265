"""Which point-in-time plan a retrieval uses: band while windows hold few rows, else ASOF."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pyarrow as pa
import pytest

from shipyard.features import Entity, Feature, FeatureView
from shipyard.features.entities import prepare_entity_rows
from shipyard.features.offline import ViewQuery, attach, connect
from shipyard.features.pit import view_sql
from shipyard.features.sources import LakeTables
from shipyard.platform import Platform
from tests.unit.features.helpers import day, write_table


def _plan(platform: Platform, rows_per_key: int, ttl: timedelta | None) -> str:
    """The plan for 10 entity rows per key (days 1 to 4) over ``rows_per_key`` hourly rows."""
    keys = 5
    src = pd.DataFrame(
        {
            "k": [k for k in range(keys) for _ in range(rows_per_key)],
            "ts": [day(i / 24) for _ in range(keys) for i in range(rows_per_key)],
            "x": [1.0] * keys * rows_per_key,
        }
    )
    write_table(platform, "gold.src", src)
    view = FeatureView(
        name="v", entities=["e"], source="gold.src", timestamp_field="ts", ttl=ttl,
        features=[Feature("x", "float64")],
    )  # fmt: skip
    platform.features.apply([Entity(name="e", join_keys=["k"]), view])
    ent = pa.table(
        {
            "k": [k for k in range(keys) for _ in range(10)],
            "event_timestamp": [day(1 + i / 3) for _ in range(keys) for i in range(10)],
        }
    )
    entity, _ = prepare_entity_rows(ent, ["k"], None)
    entity = entity.append_column("__tstz", entity.column("__ts").cast(pa.timestamp("us", "UTC")))
    table = LakeTables(platform.context, platform.lake).open("gold.src")
    con = connect()
    con.register("__entity", entity)
    attach(con, "__src", table)
    return (
        "asof"
        if "ASOF" in view_sql(con, entity, ViewQuery(view, table, ["x"], ["x"], ["k"]), False)
        else "band"
    )


@pytest.mark.parametrize(
    ("rows_per_key", "ttl", "want"),
    [
        (100, timedelta(hours=3), "band"),  # ~3 candidates per entity row
        (100, None, "asof"),  # every earlier row is a candidate: 10 pairs per source row
        (1000, timedelta(days=30), "asof"),  # the TTL spans everything the rows reach
    ],
)
def test_plan_follows_the_expected_candidates(
    platform: Platform, rows_per_key: int, ttl: timedelta | None, want: str
) -> None:
    assert _plan(platform, rows_per_key, ttl) == want
