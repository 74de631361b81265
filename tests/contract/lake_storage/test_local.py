from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.lake.storage import DeltaStorage, LakeStorage
from tests.contract.lake_storage.suite import LakeStorageContract


class TestLocalFolder(LakeStorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LakeStorage:
        return DeltaStorage(str(tmp_path / "lake") + "/")

    def test_a_local_root_is_created_and_declares_its_capabilities(
        self, storage: LakeStorage
    ) -> None:
        assert Path(storage.root).is_dir()
        assert not storage.is_remote
        assert storage.concurrent_writers and storage.deletes_tables


class TestFileUri(LakeStorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LakeStorage:
        return DeltaStorage(f"file://{tmp_path / 'lake'}")
