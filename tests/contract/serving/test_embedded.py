from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.serving.suite import ServingContract


class TestEmbeddedServing(ServingContract):
    """SQLite catalog, embedded (SQLite) online store, local lake."""

    @pytest.fixture
    def overrides(self, tmp_path: Path) -> dict[str, Any]:
        return {}
