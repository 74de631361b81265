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
