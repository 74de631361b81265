"""`shipyard vectors ...` as a user drives it: apply a spec file, build, list, show, query."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipyard.cli import _common
from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.vectors.test_service import SPEC, D, _table

Cli = Callable[..., str]


@pytest.fixture
def cli(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Cli]:
    width = _common.console.width
    _common.console.width = 200
    p = Platform.open(project_dir)
    p.lake.write("gold.items", _table(range(300)))
    p.close()

    def call(*args: str, code: int = 0) -> str:
        capsys.readouterr()
        got = run(["-C", str(project_dir), *args])
        out, err = capsys.readouterr()
        assert got == code, (args, out, err)
        return out + err

    yield call
    _common.console.width = width


def test_apply_build_list_show_query(cli: Cli, project_dir: Path) -> None:
    specs = project_dir / "vectors.yaml"
    specs.write_text(json.dumps([SPEC.model_dump(mode="json")]))
    assert "+ vector index items on gold.items" in cli("vectors", "plan", str(specs))
    assert "1 change(s) applied" in cli("vectors", "apply", str(specs))
    assert "items: build at table version 0, 300 rows" in cli("vectors", "build", "items")
    assert "unchanged" in cli("vectors", "build", "items")
    assert "items" in cli("vectors", "list")
    assert json.loads(cli("vectors", "show", "items"))["state"]["rows"] == 300
    out = cli("vectors", "query", "items", "--id", "4", "-k", "3", "--filter", '{"color": "red"}')
    assert "3 of 100 matching" in out
    hits = json.loads(cli("vectors", "query", "items", "--vector", json.dumps([0.0] * D), "--json"))
    assert len(hits["ids"]) == len(hits["distances"]) == 10
    assert "has no text_column" in cli(
        "vectors", "query", "items", "--id", "4", "--text", "x", code=1
    )


def test_bad_input_is_one_line(cli: Cli, project_dir: Path) -> None:
    (project_dir / "bad.yaml").write_text("name: [unclosed")
    assert "is not YAML or JSON" in cli("vectors", "plan", str(project_dir / "bad.yaml"), code=1)
    assert "no vector index named 'nope'" in cli("vectors", "show", "nope", code=1)
    assert "--vector is not JSON" in cli("vectors", "query", "x", "--vector", "[1,", code=1)
    # a deployment's neighbour step: refused in one line before anything is written
    step = '{"index": "nope", "key": "item_id", "outputs": {"n": "count"}}'
    args = ["deploy", "d", "-m", "m/1", "-k", "item_id"]
    assert "--neighbors index: Field required" in cli(*args, "--neighbors", '{"k": 0}', code=1)
    assert "--neighbors: Expecting" in cli(*args, "--neighbors", "{", code=1)
    assert "no vector index named 'nope'" in cli(*args, "--neighbors", step, code=1)
