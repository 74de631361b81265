"""Materialize and online reads through the platform (embedded store)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.features import NOT_FOUND, OUTSIDE_MAX_AGE, PRESENT, FeatureView
from shipyard.platform import Platform
from shipyard.security.models import Role
from tests.unit.features.conftest import customer_source
from tests.unit.features.helpers import day, write_table


def test_materialize_writes_the_latest_row_per_entity(
    platform: Platform, customer_view: FeatureView
) -> None:
    [res] = platform.features.materialize()
    assert (res.view, res.entities, res.rows) == ("customer_daily", 3, 6)
    assert res.watermark == day(3)
    r = platform.features.get_online_features(
        feature_service="churn",
        entity_rows=[{"customer_id": 1}, {"customer_id": 2}, {"customer_id": 9}],
    )
    d = r.to_dict()
    assert d["customer_id"] == [1, 2, 9]
    assert d["f0"] == [1 + 3.0, 2 + 2.0, None]
    assert d["n"] == [3, 2, None]
    assert d["flag"] == [False, True, None]
    assert r.statuses["f0"] == [PRESENT, PRESENT, NOT_FOUND]
    assert r.event_timestamps["f0"] == [day(3), day(2), None]


def test_incremental_materialize_and_older_never_overwrites_newer(
    platform: Platform, customer_view: FeatureView
) -> None:
    platform.features.materialize()
    # new rows: a newer one for customer 2, and a late, older one for customer 1
    write_table(
        platform, "gold.customer_daily", customer_source([5, 4], [2, 1], base=100), mode="append"
    )
    [res] = platform.features.materialize()
    assert (res.entities, res.rows, res.watermark) == (2, 2, day(5))
    r = platform.features.get_online_features(
        ["customer_daily:f0"], entity_rows=[{"customer_id": 1}, {"customer_id": 2}]
    )
    assert r.to_dict()["f0"] == [101 + 4.0, 102 + 5.0]
    # re-materializing an old range never puts older values back
    [again] = platform.features.materialize(start=day(0), end=day(2))
    assert (again.entities, again.rows, again.watermark) == (3, 5, day(5))
    r = platform.features.get_online_features(
        ["customer_daily:f0"], entity_rows=[{"customer_id": 1}, {"customer_id": 2}]
    )
    assert r.to_dict()["f0"] == [101 + 4.0, 102 + 5.0]
    # nothing new: an incremental run reads nothing
    [none] = platform.features.materialize()
    assert (none.entities, none.rows, none.watermark) == (0, 0, day(5))


def test_ttl_is_enforced_online(platform: Platform, customer_view: FeatureView) -> None:
    from shipyard.features import Entity

    view = FeatureView(
        name="short",
        entities=["customer"],
        source="gold.customer_daily",
        timestamp_field="event_ts",
        features=customer_view.features[:1],
        ttl=timedelta(days=1),
    )
    platform.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    platform.features.materialize(["short"])
    r = platform.features.get_online_features(["short:f0"], entity_rows=[{"customer_id": 1}])
    assert r.statuses["f0"] == [OUTSIDE_MAX_AGE]  # day 3 of 2026 is long gone
    assert r.to_dict()["f0"] == [None]
    assert r.event_timestamps["f0"] == [day(3)]


def test_online_bad_input(platform: Platform, customer_view: FeatureView) -> None:
    platform.features.materialize()
    with pytest.raises(InvalidArgument, match="customer_id"):
        platform.features.get_online_features(feature_service="churn", entity_rows=[{"id": 1}])
    with pytest.raises(InvalidArgument, match="wrong type"):
        platform.features.get_online_features(
            feature_service="churn", entity_rows=[{"customer_id": "x"}]
        )
    with pytest.raises(NotFound, match="did you mean"):
        platform.features.get_online_features(
            ["customer_daily:f00"], entity_rows=[{"customer_id": 1}]
        )
    with pytest.raises(InvalidArgument, match="empty"):
        platform.features.get_online_features(feature_service="churn", entity_rows=[])


def test_never_materialized_is_not_found(platform: Platform, customer_view: FeatureView) -> None:
    r = platform.features.get_online_features(
        feature_service="churn", entity_rows=[{"customer_id": 1}]
    )
    assert set(s for v in r.statuses.values() for s in v) == {NOT_FOUND}


def test_reading_online_features_needs_its_own_permission(
    platform: Platform, customer_view: FeatureView
) -> None:
    platform.features.materialize()
    viewer = platform.security.create_principal("vic", team="default", role=Role.VIEWER)
    with pytest.raises(PermissionDenied, match="read_features"):
        platform.as_principal(viewer).features.get_online_features(
            feature_service="churn", entity_rows=[{"customer_id": 1}]
        )
    predictor = platform.security.create_principal("pam", team="default", role=Role.PREDICTOR)
    r = platform.as_principal(predictor).features.get_online_features(
        feature_service="churn", entity_rows=[{"customer_id": 1}]
    )
    assert r.statuses["f0"] == [PRESENT]
    with pytest.raises(PermissionDenied):
        platform.as_principal(predictor).features.materialize()


def test_materialize_records_watermark_and_statistics(
    platform: Platform, customer_view: FeatureView
) -> None:
    platform.features.materialize()
    status = platform.features.get_view_status("customer_daily")
    assert status["watermark"] == day(3).isoformat()
    assert status["entities"] == 3
    stats = status["statistics"]["f0"]
    assert stats["min"] == pytest.approx(4.0) and stats["max"] == pytest.approx(4.0)
    assert stats["mean"] == pytest.approx(4.0)
    assert stats["null_fraction"] == 0.0


def test_materialize_breaks_event_time_ties_by_created(platform: Platform) -> None:
    import pandas as pd

    from shipyard.features import Entity, Feature

    df = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2],
            "event_ts": [day(2), day(2), day(1), day(1)],
            "created": [day(3), day(5), day(9), day(1)],
            "v": [1.0, 2.0, 3.0, 4.0],
        }
    )
    write_table(platform, "gold.ties", df)
    view = FeatureView(
        name="ties",
        entities=["customer"],
        source="gold.ties",
        timestamp_field="event_ts",
        created_timestamp_field="created",
        features=[Feature("v", "float64")],
    )
    platform.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    [res] = platform.features.materialize(["ties"])
    assert (res.entities, res.rows) == (2, 4)
    r = platform.features.get_online_features(
        ["ties:v"], entity_rows=[{"customer_id": 1}, {"customer_id": 2}]
    )
    assert r.to_dict()["v"] == [2.0, 4.0]


def test_online_features_by_view_object(platform: Platform, customer_view: FeatureView) -> None:
    platform.features.materialize()
    r = platform.features.get_online_features([customer_view], entity_rows=[{"customer_id": 3}])
    assert r.to_dict()["n"] == [1] and len(r.to_dict()) == 9
