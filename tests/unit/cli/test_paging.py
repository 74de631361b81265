"""CLI lists: ``--limit N`` shows one page and says more exist; ``--all`` follows the tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform


@pytest.fixture
def project(tmp_path: Path) -> Path:
    d = tmp_path / "p"
    assert run(["init", str(d)]) == 0
    with Platform.open(d) as p:
        for i in range(5):
            p.registry.create_registered_model(f"m{i}")
            p.tracking.create_experiment(f"e{i}")
            p.catalog.register_asset(f"table:bronze.t{i}")
    return d


@pytest.mark.parametrize(
    ("command", "key"),
    [
        (["models", "list"], "name"),
        (["catalog", "search", "--kind", "table"], "name"),
        (["runs", "experiments"], "name"),
        (["principals", "list"], "name"),
    ],
)
def test_limit_shows_one_page_and_all_shows_every_row(
    project: Path, capsys: pytest.CaptureFixture[str], command: list[str], key: str
) -> None:
    capsys.readouterr()
    assert run(["-C", str(project), *command, "--limit", "2", "--json"]) == 0
    out = capsys.readouterr()
    first = json.loads(out.out)
    items = first["items"] if isinstance(first, dict) else first
    if command[0] == "principals":  # one principal in a new project: nothing more
        assert len(items) == 1 and "more exist" not in out.err
        return
    assert len(items) == 2
    assert "more exist" in out.err and "--all" in out.err
    assert run(["-C", str(project), *command, "--limit", "2", "--all", "--json"]) == 0
    out = capsys.readouterr()
    every = json.loads(out.out)
    rows = every["items"] if isinstance(every, dict) else every
    assert len(rows) == 5 and len({r[key] for r in rows}) == 5
    assert "more exist" not in out.err


def test_a_bad_limit_is_one_line_and_non_zero(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(["-C", str(project), "models", "list", "--limit", "0"]) != 0
    assert "limit" in capsys.readouterr().err
