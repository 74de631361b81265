"""The feature store with Redis as its online store, on the real server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from shipyard.features import (
    NOT_FOUND,
    PRESENT,
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    PushSource,
)
from shipyard.features.backends.redis import RedisOnlineStore
from shipyard.features.online import namespace
from shipyard.platform import Platform
from tests.unit.features.helpers import day, write_table

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_platform(project_dir: Path, redis_url: str) -> Iterator[Platform]:
    prefix = f"shipyard-test:{uuid.uuid4().hex}"
    p = Platform.open(
        project_dir, online={"backend": "redis", "url": redis_url, "key_prefix": prefix}
    )
    yield p
    store = p.features.online_store
    assert isinstance(store, RedisOnlineStore) and store.prefix == prefix
    for view in p.features.list_definitions("feature_view").items:
        store.delete_namespace(namespace(view))
    p.close()


def test_materialize_and_read_through_redis(redis_platform: Platform) -> None:
    p = redis_platform
    df = pd.DataFrame(
        {"customer_id": [1, 1, 2], "event_ts": [day(1), day(2), day(1)], "spend": [1.0, 2.0, 3.0]}
    )
    write_table(p, "gold.spend", df)
    view = FeatureView(
        name="spend",
        entities=["customer"],
        source="gold.spend",
        timestamp_field="event_ts",
        features=[Feature("spend", "float64")],
        ttl=timedelta(days=3650),
    )
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="svc", features=[view]),
        ]
    )
    [res] = p.features.materialize()
    assert (res.entities, res.rows) == (2, 3)
    r = p.features.get_online_features(
        feature_service="svc",
        entity_rows=[{"customer_id": 1}, {"customer_id": 2}, {"customer_id": 3}],
    )
    assert r.to_dict()["spend"] == [2.0, 3.0, None]
    assert r.statuses["spend"] == [PRESENT, PRESENT, NOT_FOUND]
    # an older row arriving late never replaces the newer value
    write_table(
        p,
        "gold.spend",
        pd.DataFrame({"customer_id": [1], "event_ts": [day(1.5)], "spend": [9.0]}),
        mode="append",
    )
    p.features.materialize(start=day(0))
    one = p.features.get_online_features(feature_service="svc", entity_rows=[{"customer_id": 1}])
    assert one.to_dict()["spend"] == [2.0]


def test_push_is_visible_at_once_on_redis(redis_platform: Platform) -> None:
    p = redis_platform
    view = FeatureView(
        name="clicks",
        entities=["customer"],
        source=PushSource("clicks", "bronze.clicks"),
        timestamp_field="ts",
        features=[Feature("n", "int64")],
        ttl=timedelta(days=1),
    )
    p.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    p.features.push("clicks", [{"customer_id": 4, "ts": day(1), "n": 1}], to="online")
    r = p.features.get_online_features(["clicks:n"], entity_rows=[{"customer_id": 4}])
    assert r.statuses["n"] == ["OUTSIDE_MAX_AGE"]  # TTL is enforced online on Redis too
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    p.features.push("clicks", [{"customer_id": 4, "ts": now, "n": 2}], to="online")
    r = p.features.get_online_features(["clicks:n"], entity_rows=[{"customer_id": 4}])
    assert r.to_dict()["n"] == [2] and r.statuses["n"] == [PRESENT]
