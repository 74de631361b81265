from __future__ import annotations

import pytest

from tests.contract.quotas.suite import QuotaContract

pytestmark = pytest.mark.integration


class TestPostgresQuotas(QuotaContract):
    @pytest.fixture
    def catalog_url(self, pg_url: str) -> str:
        return pg_url
