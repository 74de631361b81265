from __future__ import annotations

import pytest

from tests.contract.security.suite import SecurityContract

pytestmark = pytest.mark.integration


class TestPostgresSecurity(SecurityContract):
    @pytest.fixture
    def catalog_url(self, pg_url: str) -> str:
        return pg_url
