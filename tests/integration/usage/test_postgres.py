from __future__ import annotations

import pytest

from tests.contract.usage.suite import UsageContract

pytestmark = pytest.mark.integration


class TestPostgresUsage(UsageContract):
    @pytest.fixture
    def catalog_url(self, pg_url: str) -> str:
        return pg_url
