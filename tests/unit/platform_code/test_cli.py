"""`shipyard platform plan|apply`: a saved plan, a no-op second apply, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.platform_code.conftest import Write


def test_plan_out_apply_plan_and_refusals(
    plat: Platform, write: Write, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(features="", pipelines="")
    saved = project_dir / "plan.json"
    assert run(["-C", str(project_dir), "platform", "plan", "--out", str(saved)]) == 0
    out = capsys.readouterr().out
    assert "+ table silver.orders" in out and "platform.yaml:11" in out
    assert json.loads(saved.read_text())["changes"][0]["kind"] == "principal"
    assert run(["-C", str(project_dir), "platform", "apply", "--plan", str(saved)]) == 0
    assert "4 change(s) applied" in capsys.readouterr().out
    assert run(["-C", str(project_dir), "platform", "apply", "--plan", str(saved)]) == 0
    assert "0 change(s) applied" in capsys.readouterr().out

    saved.write_text("{not json")
    assert run(["-C", str(project_dir), "platform", "apply", "--plan", str(saved)]) == 1
    assert "not a saved plan" in capsys.readouterr().err
    (project_dir / "platform.yaml").write_text("teams: [ml]\nclusters: []\n")
    assert run(["-C", str(project_dir), "platform", "plan"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.endswith(
            "platform.yaml:2: unknown resource kind 'clusters' (known: teams, "
            "principals, quotas, tables, deployments, monitors, vector_indexes)"
        )
        and "\n" not in err
    )
