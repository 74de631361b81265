from __future__ import annotations

import pytest

from tests.contract.catalog.suite import CatalogContract

pytestmark = pytest.mark.integration


class TestPostgresCatalog(CatalogContract):
    @pytest.fixture
    def catalog_url(self, pg_catalog_url: str) -> str:
        return pg_catalog_url
