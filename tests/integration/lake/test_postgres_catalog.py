"""The lake contract with its metadata (catalog, definitions, refreshes) on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard.platform import Platform
from tests.contract.lake.suite import LakeServiceContract

pytestmark = pytest.mark.integration


class TestLakeOnPostgres(LakeServiceContract):
    @pytest.fixture
    def lake_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {"root": str(tmp_path / "lake-root")}

    @pytest.fixture
    def plat(
        self, tmp_path: Path, lake_settings: dict[str, Any], pg_url: str
    ) -> Iterator[Platform]:
        p = Platform.open(tmp_path / "project", lake=lake_settings, catalog={"url": pg_url})
        yield p
        p.close()
