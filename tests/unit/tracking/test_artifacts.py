from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from shipyard.storage import LocalArtifactStore, safe_key


@pytest.mark.parametrize("bad", ["../x", "a/../../b", "/etc/passwd", "a\\b", "a/\x00"])
def test_safe_key_refuses_traversal(bad: str) -> None:
    with pytest.raises(InvalidArgument):
        safe_key("exp/run/artifacts", bad)


def test_safe_key_normalises() -> None:
    assert safe_key("a/", "./b//c", None, "") == "a/b/c"


def test_local_store_roundtrip(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "root")
    store.put_bytes(b"hi", "x/y.txt")
    assert store.get_bytes("x/y.txt") == b"hi"
    assert [(f.path, f.is_dir) for f in store.list("x")] == [("x/y.txt", False)]
    assert [(f.path, f.is_dir) for f in store.list("")] == [("x", True)]
    with pytest.raises(NotFound):
        store.get_bytes("x/none")


def test_run_artifacts(platform: Platform, tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("hello")
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG")
    with platform.tracking.start_run(experiment="e") as run:
        run.log_artifact(tmp_path / "report.txt")
        run.log_artifacts(folder, "plots")
        run.log_dict({"k": 1}, "meta/info.json")
        with pytest.raises(InvalidArgument, match="path traversal"):
            run.log_text("x", "../../escape.txt")
        with pytest.raises(InvalidArgument):
            run.log_artifact(tmp_path / "report.txt", "../..")
    svc = platform.tracking
    top = {f.path: f.is_dir for f in svc.list_artifacts(run.id).items}
    assert top == {"meta": True, "plots": True, "report.txt": False}
    assert [f.path for f in svc.list_artifacts(run.id, "plots").items] == ["plots/a.png"]
    assert svc.read_artifact(run.id, "report.txt") == b"hello"
    assert b'"k": 1' in svc.read_artifact(run.id, "meta/info.json")
    with pytest.raises(InvalidArgument):
        svc.read_artifact(run.id, "../../../catalog.db")
    out = svc.download_artifacts(run.id, "plots", tmp_path / "dl")
    assert (out / "a.png").read_bytes() == b"\x89PNG"
    assert not (Path(platform.settings.artifact_root).parent / "escape.txt").exists()
