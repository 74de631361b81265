from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform

CONFIG = "jobs:\n  modules: [tests.unit.training.funcs]\n"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    d = tmp_path / "project"
    d.mkdir()
    (d / "shipyard.yaml").write_text(CONFIG)
    return d


@pytest.fixture
def platform(project_dir: Path) -> Iterator[Platform]:
    p = Platform.open(project_dir)
    yield p
    p.close()
