"""CatalogService.counts: assets per team and kind, only over teams the caller may read."""

from __future__ import annotations

import pytest

from shipyard.errors import PermissionDenied
from shipyard.platform import Platform


def test_counts_cover_readable_teams_only(platform: Platform) -> None:
    platform.catalog.register_asset("table:bronze.a", owner="ml")
    platform.catalog.register_asset("table:bronze.b", owner="ml")
    platform.catalog.register_asset("model:m", owner="ml")
    platform.catalog.register_asset("table:bronze.r", owner="risk")
    assert platform.catalog.counts() == {"ml": {"table": 2, "model": 1}, "risk": {"table": 1}}
    viewer = platform.security.create_principal("v", team="risk", role="viewer")
    assert platform.as_principal(viewer).catalog.counts() == {"risk": {"table": 1}}
    nobody = platform.security.revoke_role("v", team="risk")
    with pytest.raises(PermissionDenied):
        platform.as_principal(nobody).catalog.counts()


def test_counts_over_http(platform: Platform) -> None:
    from fastapi.testclient import TestClient

    from shipyard.api.app import create_app

    platform.catalog.register_asset("table:bronze.a", owner="ml")
    platform.security.create_principal("risk_editor", team="risk", role="editor")
    platform.security.create_principal("nobody", team="ml", role="viewer")
    platform.security.revoke_role("nobody", team="ml")
    tokens = {
        who: platform.security.create_token(principal=who).token
        for who in ("risk_editor", "nobody")
    }
    client = TestClient(create_app(platform))
    assert client.get("/api/v1/catalog/counts").status_code == 401
    r = client.get(
        "/api/v1/catalog/counts", headers={"Authorization": f"Bearer {tokens['risk_editor']}"}
    )
    assert r.status_code == 200 and r.json() == {}  # ml's table is not counted for risk
    r = client.get(
        "/api/v1/catalog/counts", headers={"Authorization": f"Bearer {tokens['nobody']}"}
    )
    assert r.status_code == 403
    r = client.get("/api/v1/catalog/counts?limit=abc", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401  # no parameters to get wrong; a bad token is still refused first


def check_teams(platform: Platform) -> None:
    """``teams()`` (the catalog page's team filter): the owners of assets, sorted, over the
    teams the caller may read; the loose index scan finds each owner once."""
    assert platform.catalog.teams() == []
    for i in range(30):
        platform.catalog.register_asset(f"table:bronze.t{i}", owner=("ml", "risk", "ops")[i % 3])
    platform.catalog.register_asset("model:m", owner="ml")
    assert platform.catalog.teams() == ["ml", "ops", "risk"]
    both = platform.security.create_principal("two", team="risk", role="viewer")
    both = platform.security.grant("two", team="hr", role="viewer")  # no assets: not listed
    assert platform.as_principal(both).catalog.teams() == ["risk"]
    nobody = platform.security.create_principal("nobody", team="ml", role="viewer")
    nobody = platform.security.revoke_role("nobody", team="ml")
    with pytest.raises(PermissionDenied):
        platform.as_principal(nobody).catalog.teams()


def test_teams_are_the_owners_of_readable_assets(platform: Platform) -> None:
    check_teams(platform)
