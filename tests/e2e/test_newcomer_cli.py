"""Issue #12: what a newcomer hits first, driven through the real `shipyard` entry point."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from shipyard.config import find_project


def shipyard(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_wrong_folder_is_no_project_and_nothing_is_created(tmp_path: Path) -> None:
    r = shipyard("-C", "typo", "catalog", "search", cwd=tmp_path)
    assert r.returncode != 0
    assert r.stderr.strip() == "error: no Shipyard project here (run `shipyard init`)"
    assert not (tmp_path / "typo").exists() and list(tmp_path.iterdir()) == []
    # Production settings in the environment do not make a folder a project.
    r = shipyard("catalog", "search", cwd=tmp_path, env={"SHIPYARD_CATALOG_URL": "sqlite:///x.db"})
    assert r.returncode != 0 and "no Shipyard project here" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_project_is_found_from_a_subfolder_like_git(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project(deep) == (tmp_path / "proj").resolve()
    r = shipyard("tokens", "create", "--quiet", cwd=deep)
    assert r.returncode == 0, r.stderr
    assert not (deep / ".shipyard").exists()


def test_serve_names_a_port_in_use_before_its_banner(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        r = shipyard("-C", "proj", "serve", "--port", str(port), cwd=tmp_path)
    assert r.returncode != 0
    assert r.stdout == ""  # no banner
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert str(port) in lines[0] and "--port" in lines[0]


def _commands(app: typer.Typer, path: list[str]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for c in app.registered_commands:
        name = c.name or (c.callback.__name__ if c.callback else "?")
        out.append((" ".join([*path, name]), c.help or (c.callback and c.callback.__doc__)))
    for g in app.registered_groups:
        sub = g.typer_instance
        assert sub is not None
        name = str(g.name or sub.info.name)
        help_text = g.help or sub.info.help
        out.append((" ".join([*path, name]), help_text if isinstance(help_text, str) else None))
        out += _commands(sub, [*path, name])
    return out


def test_every_command_and_group_has_help() -> None:
    from shipyard.cli.main import app

    commands = _commands(app, ["shipyard"])
    assert len(commands) > 40
    assert [name for name, text in commands if not (text and text.strip())] == []


def test_flags_show_no_value_type_in_help(tmp_path: Path) -> None:
    r = shipyard("catalog", "search", "--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "--json" in r.stdout and "<bool>" not in r.stdout
    assert "<str>" in r.stdout or "TEXT" in r.stdout  # options that take values still say so


def test_a_mistyped_kind_names_the_valid_kinds(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    r = shipyard("-C", "proj", "catalog", "search", "--kind", "tabel", cwd=tmp_path)
    assert r.returncode == 1
    assert "tabel" in r.stderr and "table" in r.stderr and "feature_view" in r.stderr


def test_piped_output_is_not_wrapped_and_keeps_brackets(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    description = "[quarantined] " + "a long description that runs on " * 6
    code = (
        "from shipyard.platform import Platform\n"
        f"with Platform.open({str(tmp_path / 'proj')!r}) as p:\n"
        f"    p.catalog.register_asset('table:bronze.x', description={description!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
    r = shipyard("-C", "proj", "catalog", "show", "table:bronze.x", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert description.strip() in r.stdout  # one line, label intact


def test_tokens_create_makes_a_new_principal_with_a_role_in_one_step(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    r = shipyard(
        "-C", "proj", "tokens", "create", "--principal", "ci-bot", "--team", "ml",
        "--role", "predictor", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith("shp_") and len(r.stdout.strip().splitlines()) == 1
    shown = shipyard("-C", "proj", "principals", "show", "ci-bot", "--json", cwd=tmp_path)
    assert '"ml": "predictor"' in shown.stdout.replace("\n", "").replace("  ", " ")


@pytest.mark.slow
def test_demo_runs_with_production_settings_exported(tmp_path: Path, pg_url: str) -> None:
    """The demo's API server opens the demo's catalog, wherever its settings came from."""
    r = shipyard(
        "demo", "--dir", str(tmp_path / "demo"), "--customers", "150", "--days", "20",
        "--requests", "3", cwd=tmp_path, env={"SHIPYARD_CATALOG_URL": pg_url},
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "[9/9]" in r.stdout and "3 HTTP predictions" in r.stdout
    assert "[quarantined]" in r.stdout  # the label survives rich markup
    assert not (tmp_path / "demo" / ".shipyard" / "catalog.db").exists()  # PostgreSQL, not SQLite


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_long_work_reports_progress_when_piped_and_not_with_quiet(tmp_path: Path) -> None:
    assert shipyard("init", "proj", cwd=tmp_path).returncode == 0
    data = tmp_path / "rows.csv"
    data.write_text("id,name\n" + "".join(f"{i},n{i}\n" for i in range(5000)))
    r = shipyard("-C", "proj", "lake", "ingest", "bronze.rows", str(data), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ingest bronze.rows: 5,000 rows" in r.stderr.splitlines()
    assert "\x1b" not in r.stderr  # plain lines, no bar, when not a terminal
    quiet = shipyard(
        "-C", "proj", "lake", "ingest", "bronze.rows2", str(data), "--quiet", cwd=tmp_path
    )
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "5000 rows written" in quiet.stdout
