"""The serving contract with PostgreSQL as the catalog and Redis as the online store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.contract.serving.suite import ServingContract

pytestmark = pytest.mark.integration


class TestServingOnPostgresAndRedis(ServingContract):
    @pytest.fixture
    def overrides(self, tmp_path: Path, pg_url: str, redis_url: str) -> dict[str, Any]:
        return {
            "catalog": {"url": pg_url},
            "online": {
                "backend": "redis",
                "url": redis_url,
                "key_prefix": f"shipyard-test:{uuid.uuid4().hex}",
            },
        }
