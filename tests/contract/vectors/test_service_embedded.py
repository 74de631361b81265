"""The vector service contract on the embedded (faiss) backend, in-process and remote."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.vectors.service_suite import VectorServiceContract


class TestEmbeddedVectorService(VectorServiceContract):
    @pytest.fixture
    def vector_settings(self) -> dict[str, Any]:
        return {"backend": "embedded"}
