"""`shipyard backup create|list|show|verify|restore|prune` as an operator types them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli import _common
from shipyard.cli.main import run


@pytest.fixture
def cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator:  # type: ignore[type-arg]
    width = _common.console.width
    _common.console.width = 200

    def call(*args: str, code: int = 0, project: Path = project_dir) -> str:
        capsys.readouterr()
        got = run(["-C", str(project), *args])
        out, err = capsys.readouterr()
        assert got == code, (args, out, err)
        return out + err

    yield call
    _common.console.width = width


def test_backup_cli(cli, project_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "e.csv"
    pd.DataFrame({"id": [1, 2], "x": [0.5, 0.25]}).to_csv(data, index=False)
    cli("lake", "ingest", "bronze.e", str(data))
    assert "2 tables" in cli("backup", "create")
    point = json.loads(cli("backup", "list", "--json"))["items"][0]
    assert point["status"] == "complete"
    assert "bronze.e" in cli("backup", "show", point["id"])
    assert "ok:" in cli("backup", "verify", point["id"])
    target = tmp_path / "restored"
    out = cli(
        "backup",
        "restore",
        point["id"],
        "--into",
        str(target),
        "--set",
        "online.max_rows_per_call=5",
    )
    assert "restored" in out
    assert "bronze.e" in cli("lake", "tables", project=target)
    assert "max_rows_per_call: 5" in (target / "shipyard.yaml").read_text()
    # Mistakes are one line and a non-zero exit.
    assert "error:" in cli("backup", "verify", "nope", code=1)
    assert "not empty" in cli("backup", "restore", point["id"], "--into", str(target), code=1)
    assert "--set" in cli(
        "backup", "restore", point["id"], "--into", str(tmp_path / "n"), "--set", "x", code=1
    )
    assert "deleted 0" in cli("backup", "prune", "--keep-last", "1")
