"""Issue #12 pieces below the CLI: project discovery, settings for a child, progress, API reference."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipyard.cli import _common
from shipyard.config import find_project, load_settings, settings_env
from shipyard.platform import Platform


def test_find_project_walks_up_and_never_creates(tmp_path: Path) -> None:
    assert find_project(tmp_path / "typo") is None
    assert not (tmp_path / "typo").exists()
    (tmp_path / "p" / ".shipyard").mkdir(parents=True)
    (tmp_path / "p" / "a" / "b").mkdir(parents=True)
    assert find_project(tmp_path / "p" / "a" / "b") == (tmp_path / "p").resolve()
    (tmp_path / "q").mkdir()
    (tmp_path / "q" / "shipyard.yaml").write_text("")
    assert find_project(tmp_path / "q") == (tmp_path / "q").resolve()


def test_settings_env_makes_a_child_load_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shipyard.yaml").write_text("online:\n  key_prefix: from-file\n")
    monkeypatch.setenv("SHIPYARD_CATALOG_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("SHIPYARD_LAKE_STORAGE_OPTIONS", '{"AWS_REGION": "eu"}')
    parent = load_settings(tmp_path, server={"port": 9001})
    env = settings_env(parent)
    for key in list(os.environ):
        if key.startswith("SHIPYARD_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = load_settings(tmp_path / "elsewhere-cwd")
    assert child.catalog_url == "sqlite:////tmp/elsewhere.db"
    assert child.online.key_prefix == "from-file"
    assert child.server.port == 9001
    assert child.lake.storage_options == {"AWS_REGION": "eu"}
    assert child.home_dir == parent.home_dir.resolve()


def test_progress_lines_when_piped_and_none_when_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    with _common.progress("ingest bronze.x", "rows") as on_progress:
        assert on_progress is not None
        on_progress(10, None)
        on_progress(20, None)  # within the interval: not printed now
        on_progress(30, 40)
    err = capsys.readouterr().err.splitlines()
    assert err == ["ingest bronze.x: 10 rows", "ingest bronze.x: 30/40 rows"]
    with _common.progress("ingest bronze.x", "rows", quiet=True) as on_progress:
        assert on_progress is None
    assert capsys.readouterr().err == ""


def test_mlflow_routes_are_in_the_openapi_document(platform: Platform) -> None:
    from shipyard.api.app import create_app

    paths = create_app(platform).openapi()["paths"]
    for route in (
        "/api/2.0/mlflow/runs/log-batch",
        "/api/2.0/mlflow/metrics/get-history",
        "/api/2.0/mlflow/registered-models/create",
        "/api/2.0/mlflow/model-versions/get-download-uri",
    ):
        assert route in paths
