"""Push sources: online at once, appended offline, refused whole when malformed."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.features import PRESENT, Entity, Feature, FeatureView, PushSource
from shipyard.platform import Platform
from tests.unit.features.helpers import day


@pytest.fixture
def pushed(platform: Platform) -> Platform:
    view = FeatureView(
        name="clicks",
        entities=["customer"],
        source=PushSource("click_events", table="bronze.clicks"),
        timestamp_field="ts",
        features=[Feature("clicks", "int64"), Feature("last_page", "string")],
    )
    platform.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    return platform


def _online(p: Platform, *ids: int) -> dict[str, list[object]]:
    r = p.features.get_online_features(
        ["clicks:clicks", "clicks:last_page"], entity_rows=[{"customer_id": i} for i in ids]
    )
    return {**r.to_dict(), "status": r.statuses["clicks"]}


def test_push_is_visible_online_at_once_and_appended_offline(pushed: Platform) -> None:
    res = pushed.features.push(
        "click_events",
        [
            {"customer_id": 1, "ts": day(1), "clicks": 3, "last_page": "/a"},
            {"customer_id": 2, "ts": day(1).isoformat(), "clicks": 5},
        ],
    )
    assert (res.rows, res.online_written, res.table_version) == (2, 2, 0)
    got = _online(pushed, 1, 2)
    assert got["clicks"] == [3, 5] and got["last_page"] == ["/a", None]
    assert got["status"] == [PRESENT, PRESENT]
    ent = pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [day(2), day(0)]})
    hist = pushed.features.get_historical_features(ent, features=["clicks:clicks"])
    assert hist["clicks"].iloc[0] == 3 and pd.isna(hist["clicks"].iloc[1])
    # a second push appends a new Delta version
    res2 = pushed.features.push("click_events", [{"customer_id": 1, "ts": day(3), "clicks": 4}])
    assert res2.table_version == 1
    assert _online(pushed, 1)["clicks"] == [4]
    audit = pushed.audit.list_records(action="features.push").items
    assert len(audit) == 2


def test_an_older_push_never_overwrites_a_newer_value(pushed: Platform) -> None:
    pushed.features.push(
        "click_events", [{"customer_id": 1, "ts": day(5), "clicks": 9}], to="online"
    )
    res = pushed.features.push(
        "click_events", [{"customer_id": 1, "ts": day(4), "clicks": 1}], to="online"
    )
    assert res.online_written == 0 and res.table_version is None
    assert _online(pushed, 1)["clicks"] == [9]


def test_bad_pushes_are_refused_whole(pushed: Platform) -> None:
    good = {"customer_id": 1, "ts": day(1), "clicks": 1}
    with pytest.raises(InvalidArgument, match="expects int64"):
        pushed.features.push("click_events", [good, {**good, "clicks": "many"}])
    with pytest.raises(InvalidArgument, match="lacks 'customer_id'"):
        pushed.features.push("click_events", [good, {"ts": day(1), "clicks": 1}])
    with pytest.raises(InvalidArgument, match="lacks 'ts'"):
        pushed.features.push("click_events", [{"customer_id": 1, "clicks": 1}])
    with pytest.raises(InvalidArgument, match="unknown column"):
        pushed.features.push("click_events", [{**good, "clickz": 1}])
    with pytest.raises(NotFound, match="did you mean 'click_events'"):
        pushed.features.push("click_event", [good])
    with pytest.raises(InvalidArgument, match="to must be"):
        pushed.features.push("click_events", [good], to="everywhere")
    assert _online(pushed, 1)["status"] == ["NOT_FOUND"]
    assert not pushed.lake.list_tables(layer="bronze").items
