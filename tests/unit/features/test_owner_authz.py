"""Finding 6: ``features/apply`` authorizes against the STORED owner, not the body's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from shipyard.errors import PermissionDenied
from shipyard.features import Entity, FeatureView
from shipyard.features.wire import definition_to_wire
from shipyard.platform import Platform
from tests.servers import live_server
from tests.unit.features.conftest import FEATURES, customer_source
from tests.unit.features.helpers import write_table


def _risk_view() -> FeatureView:
    return FeatureView(
        name="risk_scores",
        entities=["customer"],
        source="gold.risk_scores",
        timestamp_field="event_ts",
        features=list(FEATURES),
        ttl=None,
        owner="risk",
    )


@pytest.fixture
def risk_view(platform: Platform) -> FeatureView:
    write_table(platform, "gold.risk_scores", customer_source([1, 2], [1, 2]))
    view = _risk_view()
    platform.features.apply(
        [Entity(name="customer", join_keys=["customer_id"], owner="risk"), view]
    )
    return view


def _as(platform: Platform, name: str, team: str, role: str = "editor") -> Platform:
    return platform.as_principal(platform.security.create_principal(name, team=team, role=role))


@pytest.fixture
def url(platform: Platform, risk_view: FeatureView) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


def test_editor_of_ml_cannot_change_risks_view_by_naming_ml_as_owner(
    platform: Platform, url: str
) -> None:
    platform.security.create_principal("mallory", team="ml", role="editor")
    token = platform.security.create_token(principal="mallory").token
    hijack = dataclasses.replace(_risk_view(), owner="ml", ttl=timedelta(seconds=1))
    body = {"definitions": [definition_to_wire(hijack)]}
    r = httpx.post(
        f"{url}/api/v1/features/apply", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 403, r.text
    stored = platform.features.get_definition("feature_view", "risk_scores")
    assert stored.ttl is None and stored.owner == "risk"
    denied = platform.audit.list_records(principal="mallory", outcome="denied").items
    assert [(d.action, d.team) for d in denied] == [("features.apply", "risk")]


def test_updating_an_existing_view_needs_write_on_its_stored_owner(
    platform: Platform, risk_view: FeatureView
) -> None:
    mallory = _as(platform, "mallory", "ml")
    changed = dataclasses.replace(risk_view, ttl=timedelta(days=1), owner=None)
    with pytest.raises(PermissionDenied):
        mallory.features.apply([changed])
    with pytest.raises(PermissionDenied):  # prune would delete risk's definitions
        mallory.features.apply([], prune=True)
    assert platform.features.get_definition("feature_view", "risk_scores").ttl is None


def test_a_transfer_needs_write_on_both_teams(platform: Platform, risk_view: FeatureView) -> None:
    rita = _as(platform, "rita", "risk")
    moved = dataclasses.replace(risk_view, owner="ml")
    with pytest.raises(PermissionDenied):  # rita may write risk, not ml
        rita.features.apply([moved])
    rita = platform.as_principal(platform.security.grant("rita", team="ml", role="editor"))
    plan = rita.features.apply([moved])
    assert [c.action for c in plan.changes] == ["update"]
    stored = platform.features.get_definition("feature_view", "risk_scores")
    assert stored.owner == "ml"
    asset = platform.catalog.get_asset("feature_view:risk_scores")
    assert asset.owner == "ml"


def test_an_editor_still_updates_its_own_view_and_creates_new_ones(
    platform: Platform, risk_view: FeatureView
) -> None:
    rita = _as(platform, "rita", "risk")
    rita.features.apply([dataclasses.replace(risk_view, ttl=timedelta(days=2))])
    assert platform.features.get_definition("feature_view", "risk_scores").ttl == timedelta(days=2)
    other = dataclasses.replace(_risk_view(), name="risk_copy", owner=None)
    with pytest.raises(PermissionDenied):  # new, owned by the default team: not rita's
        rita.features.apply([other])
    rita.features.apply([dataclasses.replace(other, owner="risk")])
    assert platform.features.get_definition("feature_view", "risk_copy").owner == "risk"
