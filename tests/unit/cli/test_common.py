"""CLI plumbing: one platform per command, closed and forgotten afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.cli import _common
from shipyard.cli.main import run


def test_each_command_opens_its_own_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(["init", str(a)]) == 0 and run(["init", str(b)]) == 0
    assert run(["-C", str(a), "principals", "create", "only-in-a"]) == 0
    assert _common.state._platform is None  # closed after the command
    capsys.readouterr()
    assert run(["-C", str(b), "principals", "list", "--json"]) == 0
    assert "only-in-a" not in capsys.readouterr().out


def test_plain_turns_models_and_times_into_json_values() -> None:
    from shipyard.catalog.models import AssetRef

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _common._plain({"r": AssetRef(kind="table", name="x"), "t": [when]}) == {
        "r": {"kind": "table", "name": "x", "version": None},
        "t": ["2026-01-02T03:04:05+00:00"],
    }


def test_an_unexpected_error_prints_one_short_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Libraries put whole graphs in their messages (a 931 KB line, issue #12 item 2)."""
    import shipyard.templates

    def boom() -> None:
        raise ValueError("Unable to create node with attributes={" + "0, " * 300_000 + "}\nmore")

    monkeypatch.setattr(shipyard.templates, "list_templates", boom)
    assert run(["init", "--list-templates"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected ValueError: Unable to create node")
    assert len(err) < 500 and err.count("\n") == 1
