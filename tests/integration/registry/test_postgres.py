from __future__ import annotations

import pytest

from tests.contract.registry.suite import RegistryContract

pytestmark = pytest.mark.integration


class TestPostgresRegistry(RegistryContract):
    @pytest.fixture
    def catalog_url(self, pg_url: str) -> str:
        return pg_url
