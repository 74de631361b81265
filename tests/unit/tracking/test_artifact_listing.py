"""Artifact listings never follow symlinks and are bounded (issue #10, finding 7)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from shipyard.api.app import create_app
from shipyard.errors import InvalidArgument, NotFound, QuotaExceeded
from shipyard.platform import Platform

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


def _run_with_files(p: Platform, tmp_path: Path, n: int = 5) -> tuple[str, str]:
    src = tmp_path / "files"
    src.mkdir()
    for i in range(n):
        (src / f"f{i}.txt").write_text(str(i))
    with p.tracking.start_run(experiment="listing", capture_source=False) as run:
        run.log_artifacts(src, "docs")
    return p.tracking.get_run(run.id).experiment_id, run.id


@pytest.mark.timeout(5)
def test_symlinks_in_run_artifacts_are_neither_listed_nor_followed(
    platform: Platform, tmp_path: Path
) -> None:
    exp, run_id = _run_with_files(platform, tmp_path)
    folder = Path(platform.settings.artifact_root) / exp / run_id / "artifacts"
    os.symlink(folder, folder / "docs" / "loop")
    os.symlink(platform.settings.home_dir / "catalog.db", folder / "db")
    assert [f.path for f in platform.tracking.list_artifacts(run_id).items] == ["docs"]
    listed = {f.path for f in platform.tracking.list_artifacts(run_id, "docs").items}
    assert listed == {f"docs/f{i}.txt" for i in range(5)}
    for path in ("db", "docs/loop/docs/f0.txt"):
        with pytest.raises((InvalidArgument, NotFound)):
            platform.tracking.read_artifact(run_id, path)
    token = platform.security.create_token(name="t").token
    with TestClient(create_app(platform), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        base = "/api/2.0/mlflow-artifacts/artifacts"
        r = c.get(base, params={"path": f"{exp}/{run_id}/artifacts/docs"})
        assert r.status_code == 200 and "loop" not in r.text, r.text
        r = c.get(f"{base}/{exp}/{run_id}/artifacts/docs/loop/docs/f0.txt")
        assert r.status_code in (400, 404, 422), r.text
        assert c.get(f"{base}/{exp}/{run_id}/artifacts/db").status_code in (400, 404, 422)


def test_listings_stop_at_the_entry_limit(project_dir: Path, tmp_path: Path) -> None:
    with Platform.open(project_dir, artifacts={"list_max_entries": 3}) as p:
        exp, run_id = _run_with_files(p, tmp_path)
        assert [f.path for f in p.tracking.list_artifacts(run_id).items] == ["docs"]
        with pytest.raises(QuotaExceeded, match="list_max_entries"):
            p.tracking.list_artifacts(run_id, "docs")
        with pytest.raises(QuotaExceeded, match="list_max_entries"):
            p.tracking.proxy_list(f"{exp}/{run_id}/artifacts/docs")
        p.registry.register_model("many", f"runs:/{run_id}/docs")
        with pytest.raises(QuotaExceeded, match="list_max_entries"):
            p.registry.list_model_files("many", 1)


def test_recursive_listings_stop_at_the_depth_limit(project_dir: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep"
    (deep / "a" / "b" / "c").mkdir(parents=True)
    (deep / "a" / "b" / "c" / "x.txt").write_text("x")
    with Platform.open(project_dir, artifacts={"list_max_depth": 3}) as p:
        with p.tracking.start_run(experiment="deep", capture_source=False) as run:
            run.log_artifacts(deep, "m")
        p.registry.register_model("deep", f"runs:/{run.id}/m/a")
        assert p.registry.list_model_files("deep", 1).items == ["b/c/x.txt"]
        p.registry.register_model("deep", f"runs:/{run.id}/m")
        with pytest.raises(QuotaExceeded, match="list_max_depth"):
            p.registry.list_model_files("deep", 2)
