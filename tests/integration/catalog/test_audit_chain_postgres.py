from __future__ import annotations

import pytest

from tests.contract.catalog.audit_chain import AuditChainContract

pytestmark = pytest.mark.integration


class TestPostgresAuditChain(AuditChainContract):
    @pytest.fixture
    def catalog_url(self, pg_catalog_url: str) -> str:
        return pg_catalog_url
