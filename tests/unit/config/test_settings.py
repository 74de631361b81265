"""Settings: shipyard.yaml, SHIPYARD_* overrides, and clear errors for mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.config import load_settings
from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.platform import Platform


def write(project: Path, text: str) -> Path:
    path = project / "shipyard.yaml"
    path.write_text(text)
    return path


def test_defaults_live_in_the_project_home(project_dir: Path) -> None:
    s = load_settings(project_dir)
    assert s.home_dir == project_dir.resolve() / ".shipyard"
    assert s.catalog_url == f"sqlite:///{project_dir.resolve() / '.shipyard' / 'catalog.db'}"
    assert s.lake_root == str(project_dir.resolve() / ".shipyard" / "lake")
    assert s.project == project_dir.name


def test_file_then_env_then_explicit_overrides(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project_dir, "server:\n  port: 9000\n  host: 0.0.0.0\nonline:\n  backend: redis\n")
    assert load_settings(project_dir).server.port == 9000
    monkeypatch.setenv("SHIPYARD_SERVER_PORT", "9100")
    monkeypatch.setenv("SHIPYARD_CATALOG_BUSY_TIMEOUT", "5")
    s = load_settings(project_dir)
    assert (s.server.port, s.server.host, s.catalog.busy_timeout) == (9100, "0.0.0.0", 5.0)
    assert s.online.backend == "redis"
    assert load_settings(project_dir, server={"port": 9200}).server.port == 9200


def test_relative_home_is_inside_the_project(project_dir: Path) -> None:
    write(project_dir, "home: state\n")
    assert load_settings(project_dir).home_dir == project_dir.resolve() / "state"


def test_unknown_key_names_key_and_file(project_dir: Path) -> None:
    path = write(project_dir, "catalog:\n  ulr: sqlite:///x.db\n")
    with pytest.raises(ConfigError) as info:
        load_settings(project_dir)
    err = info.value
    assert "'catalog.ulr'" in err.message and str(path.resolve()) in err.message
    assert "did you mean 'url'" in err.message
    assert err.details == {"key": "catalog.ulr", "file": str(path.resolve())}


def test_unknown_top_level_section(project_dir: Path) -> None:
    write(project_dir, "catalgo: {}\n")
    with pytest.raises(ConfigError, match=r"unknown configuration key 'catalgo'.*'catalog'"):
        load_settings(project_dir)


def test_wrong_type_names_key(project_dir: Path) -> None:
    write(project_dir, "server:\n  port: lots\n")
    with pytest.raises(ConfigError, match=r"invalid configuration value for 'server.port'"):
        load_settings(project_dir)


def test_unknown_env_key_names_the_variable(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_CATALOG_URLL", "sqlite:///x.db")
    with pytest.raises(ConfigError, match="SHIPYARD_CATALOG_URLL"):
        load_settings(project_dir)


@pytest.mark.parametrize("text", ["catalog: [1, 2\n", "- just\n- a list\n"])
def test_not_yaml_or_not_a_mapping(project_dir: Path, text: str) -> None:
    path = write(project_dir, text)
    with pytest.raises(ConfigError, match=str(path.resolve())):
        load_settings(project_dir)


def test_unreachable_postgres_is_backend_unavailable_with_masked_password(
    project_dir: Path,
) -> None:
    url = "postgresql://u:secret@127.0.0.1:1/db"
    with pytest.raises(BackendUnavailable) as info:
        Platform.open(project_dir, catalog={"url": url})
    err = info.value
    assert "postgresql://u:***@127.0.0.1:1/db" in err.message
    assert err.details == {"url": "postgresql://u:***@127.0.0.1:1/db"}
    assert "secret" not in err.message and "secret" not in str(err.details)
    assert err.__cause__ is None and err.__suppress_context__


def test_cli_prints_one_line_for_a_config_mistake(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project_dir, "catalog:\n  ulr: x\n")
    code = run(["-C", str(project_dir), "catalog", "search"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: unknown configuration key 'catalog.ulr'")
    assert "Traceback" not in err


def test_cli_process_exits_non_zero_without_traceback(project_dir: Path) -> None:
    write(project_dir, "catalog:\n  url: postgresql://u:secret@127.0.0.1:1/db\n")
    proc = subprocess.run(
        [sys.executable, "-m", "shipyard.cli.main", "-C", str(project_dir), "catalog", "search"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: metadata database postgresql://u:***@")
    assert "secret" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


def test_sqlite_path_that_cannot_be_created_is_backend_unavailable(
    project_dir: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(BackendUnavailable, match="cannot create the folder"):
        Platform.open(project_dir, catalog={"url": f"sqlite:///{blocker}/sub/catalog.db"})
