"""``CatalogService.teams`` on PostgreSQL: the recursive loose index scan there."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.platform import Platform
from tests.unit.catalog.test_counts import check_teams

pytestmark = pytest.mark.integration


def test_teams_on_postgres(tmp_path: Path, pg_catalog_url: str) -> None:
    with Platform.open(tmp_path, catalog={"url": pg_catalog_url}) as p:
        check_teams(p)
