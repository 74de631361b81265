from __future__ import annotations

import pytest

from tests.contract.tracking.suite import TrackingContract

pytestmark = pytest.mark.integration


class TestPostgresTracking(TrackingContract):
    @pytest.fixture
    def catalog_url(self, pg_url: str) -> str:
        return pg_url
