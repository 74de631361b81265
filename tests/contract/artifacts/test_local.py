from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument
from shipyard.storage import ArtifactStore, LocalArtifactStore, open_artifact_store
from tests.contract.artifacts.suite import ArtifactStoreContract


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return LocalArtifactStore(tmp_path / "artifacts")

    def test_never_follows_a_symlink(self, store: ArtifactStore, tmp_path: Path) -> None:
        assert isinstance(store, LocalArtifactStore)
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret.txt").write_text("no")
        store.put_bytes(b"x", "run/a.txt")
        (store.root / "run" / "link").symlink_to(outside)
        assert [f.path for f in store.list("run")] == ["run/a.txt"]
        with pytest.raises(InvalidArgument):
            store.get_bytes("run/link/secret.txt")


def test_open_artifact_store_picks_by_root_and_refuses_other_schemes(tmp_path: Path) -> None:
    assert isinstance(open_artifact_store(str(tmp_path)), LocalArtifactStore)
    with pytest.raises(InvalidArgument, match="unsupported artifact root"):
        open_artifact_store("gs://bucket/x")
