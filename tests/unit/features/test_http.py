"""The feature store over HTTP and through ``shipyard.connect``: same answers, same errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

import shipyard
from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.features import PRESENT, Entity, Feature, FeatureService, FeatureView, PushSource
from shipyard.platform import Platform
from tests.servers import live_server
from tests.unit.features.helpers import day


@pytest.fixture
def url(platform: Platform, customer_view: FeatureView) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


def _token(p: Platform, name: str, role: str) -> str:
    p.security.create_principal(name, role=role)
    return p.security.create_token(principal=name).token


def test_online_features_over_http(platform: Platform, url: str) -> None:
    platform.features.materialize()
    pat = {"Authorization": f"Bearer {_token(platform, 'pat', 'predictor')}"}
    body = {"feature_service": "churn", "entity_rows": [{"customer_id": 1}, {"customer_id": 9}]}
    r = httpx.post(f"{url}/api/v1/features/online", json=body, headers=pat)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["values"]["f0"] == [4.0, None]
    assert data["statuses"]["f0"] == ["PRESENT", "NOT_FOUND"]
    assert data["event_timestamps"]["f0"][0].startswith("2026-01-04")
    vera = {"Authorization": f"Bearer {_token(platform, 'vera', 'viewer')}"}
    assert httpx.post(f"{url}/api/v1/features/online", json=body, headers=vera).status_code == 403
    bad = {"feature_service": "churn", "entity_rows": [{"id": 1}]}
    r = httpx.post(f"{url}/api/v1/features/online", json=bad, headers=pat)
    assert r.status_code == 422 and "customer_id" in r.json()["message"]
    r = httpx.post(f"{url}/api/v1/features/online", content=b"{nope", headers=pat)
    assert r.status_code == 422


def test_remote_client_has_the_same_methods(platform: Platform, url: str) -> None:
    remote = shipyard.connect(url, _token(platform, "ed", "editor"))
    try:
        ent = pd.DataFrame(
            {"customer_id": [1, 2, 7], "event_timestamp": [day(2.5), day(9), day(9)]}
        )
        local = platform.features.get_historical_features(ent, feature_service="churn")
        there = remote.features.get_historical_features(ent, feature_service="churn")
        pd.testing.assert_frame_equal(local, there)

        [res] = remote.features.materialize()
        assert res.entities == 3
        r = remote.features.get_online_features(
            feature_service="churn", entity_rows=[{"customer_id": 2}]
        )
        assert r.to_dict()["f0"] == [4.0] and r.statuses["f0"] == [PRESENT]
        assert r.event_timestamps["f0"] == [day(2)]

        ts = remote.features.create_training_set("remote_train", ent, feature_service="churn")
        assert (ts.version, ts.num_rows) == (1, 3)
        assert remote.features.get_training_set("remote_train").table == "datasets.remote_train"
        assert remote.features.rebuild_training_set("remote_train", 1).num_rows == 3
        assert remote.features.get_view_status("customer_daily")["entities"] == 3

        defs = remote.features.list_definitions("feature_view").items
        assert [d.name for d in defs] == ["customer_daily"]
        changed = FeatureView(**{**vars(defs[0]), "features": [Feature("f0", "int64")]})
        with pytest.raises(Conflict, match="type of 'f0'"):
            remote.features.apply([changed])
        plan = remote.features.plan([FeatureService(name="other", features=["customer_daily:f1"])])
        assert [c.action for c in plan.changes] == ["create"]
        with pytest.raises(NotFound, match=r"did you mean .flag."):
            remote.features.get_online_features(
                ["customer_daily:flg"], entity_rows=[{"customer_id": 1}]
            )
    finally:
        remote.close()


def test_push_over_http(platform: Platform, url: str) -> None:
    view = FeatureView(
        name="clicks",
        entities=["customer"],
        source=PushSource("clicks_push", "bronze.clicks"),
        timestamp_field="ts",
        features=[Feature("clicks", "int64")],
    )
    platform.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    remote = shipyard.connect(url, _token(platform, "ed", "editor"))
    try:
        res = remote.features.push("clicks_push", [{"customer_id": 5, "ts": day(1), "clicks": 2}])
        assert (res.rows, res.online_written) == (1, 1)
        r = platform.features.get_online_features(
            ["clicks:clicks"], entity_rows=[{"customer_id": 5}]
        )
        assert r.to_dict()["clicks"] == [2]
        with pytest.raises(InvalidArgument, match="expects int64"):
            remote.features.push("clicks_push", [{"customer_id": 5, "ts": day(2), "clicks": "x"}])
    finally:
        remote.close()
    viewer = shipyard.connect(url, _token(platform, "vic", "viewer"))
    try:
        with pytest.raises(PermissionDenied):
            viewer.features.push("clicks_push", [{"customer_id": 5, "ts": day(3), "clicks": 1}])
    finally:
        viewer.close()
