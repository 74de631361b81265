from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.usage.suite import UsageContract


class TestSqliteUsage(UsageContract):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'catalog.db'}"
