"""The embedded (faiss) backend with its index files on S3, against moto's S3 server.

Saves upload a new version object and flip a small pointer last: an upload cut short,
or a ``kill -9`` between upload and pointer, leaves the previous version loadable; another
process loads what was saved; lost objects are rebuilt from the lake at the built version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from shipyard.errors import BackendUnavailable
from shipyard.platform import Platform
from shipyard.storage import ArtifactStore, open_artifact_store
from shipyard.vectors.backends import files as index_files
from shipyard.vectors.backends.faiss_hnsw import FaissIndex
from shipyard.vectors.backends.files import StoreIndexFiles
from tests.contract.moto_s3 import MotoS3, moto_s3
from tests.contract.vectors.suite import data, spec
from tests.unit.vectors.test_service import SPEC, _table


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3]:
    with moto_s3() as server:
        yield server


@pytest.fixture
def root(s3: MotoS3) -> str:
    return f"s3://{s3.new_bucket('vectors')}/idx"


@pytest.fixture
def store(s3: MotoS3, root: str) -> ArtifactStore:
    return open_artifact_store(root, s3.boto3_options())


def _keys(store: ArtifactStore, prefix: str) -> list[str]:
    return [f.path for f in store.list(prefix)]


def test_saves_flip_a_pointer_and_prune_old_versions(
    store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, x, attrs = data(n=300)
    ix = FaissIndex(spec(), StoreIndexFiles(store, "items"))
    ix.build(ids, x, attrs)
    ix.save(1)
    assert _keys(store, "items") == ["items/CURRENT", "items/versions"]
    again = FaissIndex(spec(), StoreIndexFiles(store, "items"))
    assert again.load() == 1 and again.count() == 300
    assert again.query(x[5], 3).ids == ix.query(x[5], 3).ids
    monkeypatch.setattr(index_files, "PRUNE_AFTER", 0.0)
    ix.delete(ids[:10])
    ix.save(2)
    ix.save(3)  # the version of save 1 is neither current nor previous: deleted
    assert len(_keys(store, "items/versions")) == 2
    assert again.load() == 3 and again.count() == 290


@pytest.mark.parametrize("cut", [".npz", "CURRENT"])
def test_an_interrupted_save_leaves_the_previous_version(
    s3: MotoS3, root: str, store: ArtifactStore, cut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids, x, attrs = data(n=300)
    ix = FaissIndex(spec(), StoreIndexFiles(store, "items"))
    ix.build(ids, x, attrs)
    ix.save(1)
    ix.delete(ids[:100])
    # Another client of the same bucket whose connection drops at the version's upload
    # (".npz") or at the pointer's ("CURRENT").
    cut_off = open_artifact_store(root, s3.boto3_options())
    put = cut_off.put_bytes

    def dropped(data: bytes, key: str) -> None:
        if key.endswith(cut):
            raise BackendUnavailable("S3 is unavailable: connection reset mid-upload")
        put(data, key)

    monkeypatch.setattr(cut_off, "put_bytes", dropped)
    broken = FaissIndex(ix.spec, StoreIndexFiles(cut_off, "items"))
    broken.build(ids[100:], x[100:], {c: v[100:] for c, v in attrs.items()})
    with pytest.raises(BackendUnavailable):
        broken.save(2)
    loaded = FaissIndex(ix.spec, StoreIndexFiles(store, "items"))
    assert loaded.load() == 1 and loaded.count() == 300
    orphans = 1 if cut == "CURRENT" else 0  # uploaded, never pointed at
    assert len(_keys(store, "items/versions")) == 1 + orphans
    monkeypatch.setattr(index_files, "PRUNE_AFTER", 0.0)
    ix.save(2)  # the next save succeeds and removes the orphan
    assert len(_keys(store, "items/versions")) == 2
    assert loaded.load() == 2 and loaded.count() == 200


# The child uploads the new version, stops before writing the pointer, says so and
# waits to be killed.
CHILD = textwrap.dedent(
    """
    import sys, time
    from shipyard.platform import Platform
    from shipyard.storage.s3 import S3ArtifactStore

    put = S3ArtifactStore.put_bytes

    def stop_at_pointer(self, data, key):
        if key.endswith("CURRENT"):
            print("UPLOADED", flush=True)
            time.sleep(600)
        put(self, data, key)

    S3ArtifactStore.put_bytes = stop_at_pointer
    Platform.open(sys.argv[1]).vectors.build("items")
    """
)


@pytest.fixture
def project(tmp_path: Path, s3: MotoS3) -> Path:
    """A project whose artifacts (and so its vector index files) are on S3."""
    root = f"s3://{s3.new_bucket('artifacts')}/shipyard"
    config = {"artifacts": {"root": root, "storage_options": s3.boto3_options()}}
    (tmp_path / "shipyard.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_platform_indexes_live_on_s3_survive_kill_9_and_are_rebuilt_when_lost(
    project: Path,
) -> None:
    p = Platform.open(project)
    try:
        p.lake.write("gold.items", _table(range(300)))
        p.vectors.apply([SPEC])
        p.vectors.build("items")
        p.lake.write("gold.items", _table(range(300, 400), seed=2))
        root, options = p.settings.vectors_root
        assert root.endswith("/shipyard/vectors")
    finally:
        p.close()
    assert not (p.settings.home_dir / "vectors").exists()  # nothing on the local disk
    s3 = open_artifact_store(root, options)
    assert _keys(s3, "items") == ["items/CURRENT", "items/versions"]

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "UPLOADED"
        assert len(_keys(s3, "items/versions")) == 2  # the new version, not pointed at
    finally:
        child.kill()  # SIGKILL
        child.wait()
        if child.stdout is not None:
            child.stdout.close()

    again = Platform.open(project)  # a new platform loads the index from S3
    try:
        before = again.vectors.query("items", [0.0] * 8, k=1000)
        assert (before.table_version, before.matched) == (0, 300)
        state = again.vectors.build("items")
        assert (state.mode, state.rows) == ("incremental", 400)
        s3.delete("items")  # lost: the next platform rebuilds them from the lake
    finally:
        again.close()
    third = Platform.open(project)
    try:
        res = third.vectors.query("items", id=350, k=3)
        assert (res.table_version, res.matched, len(res.ids)) == (1, 399, 3)
        assert _keys(s3, "items") == ["items/CURRENT", "items/versions"]
    finally:
        third.close()


def test_the_vectors_root_follows_s3_artifacts_or_lake_unless_set(tmp_path: Path) -> None:
    local = Platform.open(tmp_path / "a")
    explicit = Platform.open(tmp_path / "b", vectors={"root": "s3://v/x", "storage_options": {}})
    lake = Platform.open(
        tmp_path / "c",
        lake={"root": "s3://l/lake", "storage_options": {"AWS_REGION": "eu-west-1", "X": "1"}},
    )
    try:
        assert local.settings.vectors_root == (str(local.settings.home_dir / "vectors"), {})
        assert explicit.settings.vectors_root == ("s3://v/x", {})
        assert lake.settings.vectors_root == ("s3://l/lake/_vectors", {"region_name": "eu-west-1"})
    finally:
        for p in (local, explicit, lake):
            p.close()


def test_a_relative_vectors_root_is_a_folder_of_the_project(tmp_path: Path) -> None:
    p = Platform.open(tmp_path, vectors={"root": "indexes"})
    try:
        p.lake.write("gold.items", _table(range(10)))
        p.vectors.apply([SPEC])
        p.vectors.build("items")
    finally:
        p.close()
    assert (tmp_path / "indexes" / "items.npz").is_file()
