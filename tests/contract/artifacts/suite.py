"""The artifact-store contract: one suite, run unchanged on every ``ArtifactStore``.

Subclasses provide ``store`` (an empty store under test); everything else is shared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, NotFound, QuotaExceeded
from shipyard.storage import ArtifactStore, list_dir, walk_files

UNSAFE = ["../x", "run/../../x", "/etc/passwd", "a\\b", "a\x00b", "a/" + "s" * 256]


class ArtifactStoreContract:
    @pytest.fixture
    def store(self) -> ArtifactStore:
        raise NotImplementedError

    def test_bytes_round_trip_and_overwrite(self, store: ArtifactStore) -> None:
        data = bytes(range(256)) * 3 + b"\x00"
        store.put_bytes(data, "e/r/artifacts/blob.bin")
        assert store.get_bytes("e/r/artifacts/blob.bin") == data
        store.put_bytes(b"second", "e/r/artifacts/blob.bin")
        assert store.get_bytes("e/r/artifacts/blob.bin") == b"second"
        store.put_bytes(b"", "e/r/artifacts/empty")
        assert store.get_bytes("e/r/artifacts/empty") == b""

    def test_put_file_and_unicode_keys(self, store: ArtifactStore, tmp_path: Path) -> None:
        src = tmp_path / "in.txt"
        src.write_text("héllo")
        store.put_file(src, "run/notes d'été.txt")
        assert store.get_bytes("run/notes d'été.txt").decode() == "héllo"
        assert store.uri("run/notes d'été.txt").endswith("run/notes d'été.txt")

    def test_key_parts_are_normalised(self, store: ArtifactStore) -> None:
        store.put_bytes(b"x", "run//./a.txt")
        assert store.get_bytes("run/a.txt") == b"x"

    def test_missing_file_and_folder_are_not_found(self, store: ArtifactStore) -> None:
        with pytest.raises(NotFound):
            store.get_bytes("nope/x.txt")
        store.put_bytes(b"x", "run/dir/a.txt")
        with pytest.raises(NotFound):
            store.get_bytes("run/dir")  # a folder is not a file

    def test_list_gives_direct_children_sorted_with_sizes(self, store: ArtifactStore) -> None:
        store.put_bytes(b"12345", "run/b.txt")
        store.put_bytes(b"1", "run/a.txt")
        store.put_bytes(b"12", "run/model/MLmodel")
        store.put_bytes(b"123", "run/model/data/w.bin")
        store.put_bytes(b"z", "runner/other.txt")  # shares a name prefix, not a child
        got = store.list("run")
        assert [(f.path, f.is_dir, f.file_size) for f in got] == [
            ("run/a.txt", False, 1),
            ("run/b.txt", False, 5),
            ("run/model", True, None),
        ]
        assert [f.path for f in store.list("run/model")] == ["run/model/MLmodel", "run/model/data"]
        assert {f.path for f in store.list("")} == {"run", "runner"}

    def test_list_of_a_missing_folder_is_empty(self, store: ArtifactStore) -> None:
        assert store.list("nothing/here") == []

    def test_list_limit_returns_one_more_to_tell_there_is_more(self, store: ArtifactStore) -> None:
        for i in range(7):
            store.put_bytes(b"x", f"many/f{i}.txt")
        assert len(store.list("many", limit=3)) >= 4
        assert len(store.list("many", limit=10)) == 7
        with pytest.raises(QuotaExceeded):
            list_dir(store, "many", max_entries=3)
        assert len(list_dir(store, "many", max_entries=7)) == 7

    def test_local_path_of_a_file_and_of_a_folder(
        self, store: ArtifactStore, tmp_path: Path
    ) -> None:
        store.put_bytes(b"m", "run/model/MLmodel")
        store.put_bytes(b"w", "run/model/data/w.bin")
        cache = tmp_path / "cache"
        one = store.local_path("run/model/MLmodel", cache)
        assert one.read_bytes() == b"m"
        folder = store.local_path("run/model", cache)
        assert (folder / "MLmodel").read_bytes() == b"m"
        assert (folder / "data" / "w.bin").read_bytes() == b"w"
        with pytest.raises(NotFound):
            store.local_path("run/absent", cache)

    def test_put_dir_copies_a_tree(self, store: ArtifactStore, tmp_path: Path) -> None:
        src = tmp_path / "tree"
        (src / "sub").mkdir(parents=True)
        (src / "top.txt").write_text("t")
        (src / "sub" / "deep.txt").write_text("d")
        store.put_dir(src, "run/out")
        files = walk_files(store, "run/out", max_entries=100, max_depth=5)
        assert [(f.path, f.file_size) for f in files] == [("sub/deep.txt", 1), ("top.txt", 1)]
        with pytest.raises(QuotaExceeded):
            walk_files(store, "run/out", max_entries=100, max_depth=1)
        with pytest.raises(InvalidArgument):
            walk_files(store, "", max_entries=100, max_depth=5)

    def test_delete_a_prefix_a_file_and_nothing(self, store: ArtifactStore) -> None:
        store.put_bytes(b"1", "run/a/x.txt")
        store.put_bytes(b"2", "run/a/y/z.txt")
        store.put_bytes(b"3", "run/ab.txt")
        store.put_bytes(b"4", "run/keep.txt")
        store.delete("run/a")
        assert [f.path for f in store.list("run")] == ["run/ab.txt", "run/keep.txt"]
        store.delete("run/ab.txt")
        assert [f.path for f in store.list("run")] == ["run/keep.txt"]
        store.delete("run/never-there")
        assert store.get_bytes("run/keep.txt") == b"4"

    @pytest.mark.parametrize("key", UNSAFE)
    def test_unsafe_keys_are_refused_everywhere(
        self, store: ArtifactStore, key: str, tmp_path: Path
    ) -> None:
        calls = [
            lambda: store.put_bytes(b"x", key),
            lambda: store.get_bytes(key),
            lambda: store.list(key),
            lambda: store.delete(key),
            lambda: store.uri(key),
            lambda: store.local_path(key, tmp_path / "cache"),
        ]
        for call in calls:
            with pytest.raises(InvalidArgument):
                call()

    def test_is_local_declares_in_place_files(self, store: ArtifactStore, tmp_path: Path) -> None:
        store.put_bytes(b"x", "run/a.txt")
        path = store.local_path("run/a.txt", tmp_path / "cache")
        assert path.is_relative_to(tmp_path / "cache") is not store.is_local
