"""The monitoring contract with the metadata (profiles, reports, snapshots, audit) on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.monitoring.suite import MonitoringContract

pytestmark = pytest.mark.integration


class TestPostgresMonitoring(MonitoringContract):
    @pytest.fixture
    def overrides(self, pg_url: str) -> dict[str, Any]:
        return {"catalog": {"url": pg_url}}
