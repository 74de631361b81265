from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform
from tests.contract.events.suite import EventBusContract
from tests.contract.remote import Skin


class TestSqliteEventBus(EventBusContract):
    @pytest.fixture
    def plat(self, tmp_path: Path, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": f"sqlite:///{tmp_path / 'catalog.db'}"})
        yield skin(p)
        p.close()
