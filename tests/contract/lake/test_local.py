from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.contract.lake.suite import LakeServiceContract


class TestLocalFolder(LakeServiceContract):
    @pytest.fixture
    def lake_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {"root": str(tmp_path / "lake-root")}
