from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.monitoring.suite import MonitoringContract


class TestSqliteMonitoring(MonitoringContract):
    """SQLite catalog, embedded online store, local lake."""

    @pytest.fixture
    def overrides(self, tmp_path: Path) -> dict[str, Any]:
        return {}
