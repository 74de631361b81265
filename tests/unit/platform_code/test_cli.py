"""`shipyard plan|apply` over every kind: a saved JSON plan, a stale plan refused, a no-op
second apply, nothing deleted without `--prune`, one-line refusals with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.platform_code.conftest import FEATURES_PY, PLATFORM_YAML, Write

QUOTA_LINES = "quotas:\n  - {scope: team, subject: ml, resource: deployments, limit: 5}\n"
ENTITY_ONLY_PY = FEATURES_PY.split("orders = ")[0]


def _quotas(p: Platform) -> list[tuple[str, int]]:
    return [(s.quota.subject, s.quota.limit) for s in p.quotas.list_quotas().items]


def _features(p: Platform) -> set[str]:
    return {f"{d.kind}:{d.name}" for d in p.features.list_definitions().items}


def test_plan_out_stale_plan_no_op_and_prune_only_when_asked(
    plat: Platform, write: Write, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cli(*args: str | Path, code: int = 0) -> tuple[str, str]:
        assert run(["-C", str(project_dir), *map(str, args)]) == code
        captured = capsys.readouterr()
        return captured.out, captured.err

    write(pipelines="")
    saved = project_dir / "plan.json"
    out, _ = cli("plan", "--out", saved)
    assert "+ table silver.orders" in out and "platform.yaml:11" in out
    assert "+ feature feature_view:orders" in out and "features.py:4" in out
    doc = json.loads(saved.read_text())
    kinds = {c["kind"] for c in doc["changes"] if c["action"] == "create"}
    assert kinds == {"principal", "quota", "table", "feature"} and len(doc["fingerprint"]) == 64
    assert "6 change(s) applied" in cli("apply", "--plan", saved)[0]
    assert "0 change(s) applied" in cli("apply", "--plan", saved)[0]  # the second: a no-op
    assert "0 change(s) to apply" in cli("platform", "plan")[0]  # the first name still works

    # A plan reviewed while someone changes what it would change is refused, in one line.
    write(yaml=PLATFORM_YAML.replace("limit: 5", "limit: 6"), pipelines="")
    cli("plan", "--out", saved)
    plat.quotas.set_quota("team", "ml", "deployments", 7)
    err = cli("apply", "--plan", saved, code=1)[1].strip()
    assert err.startswith("error: the platform changed since this plan was made")
    assert "\n" not in err and _quotas(plat) == [("ml", 7)]

    # Files that no longer declare the quota and the view: nothing is deleted...
    write(yaml=PLATFORM_YAML.replace(QUOTA_LINES, ""), features=ENTITY_ONLY_PY, pipelines="")
    assert "0 change(s) applied" in cli("apply")[0]
    assert _quotas(plat) == [("ml", 7)] and "feature_view:orders" in _features(plat)
    # ...while `features plan` keeps its prune-by-default meaning...
    assert "- feature_view orders" in cli("features", "plan")[0]
    # ...and the top-level commands delete only under --prune.
    out, _ = cli("plan", "--prune", "--out", saved)
    assert "- quota team/ml/deployments" in out and "- feature feature_view:orders" in out
    assert json.loads(saved.read_text())["prune"] is True
    cli("apply", "--plan", saved, "--no-prune", code=1)  # the plan's own setting holds
    assert "2 change(s) applied" in cli("apply", "--plan", saved)[0]
    assert _quotas(plat) == [] and _features(plat) == {"entity:customer"}


def test_bad_plans_are_one_line_naming_file_and_line(
    plat: Platform, write: Write, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = project_dir / "plan.json"
    saved.write_text("{not json")
    assert run(["-C", str(project_dir), "apply", "--plan", str(saved)]) == 1
    assert "not a saved plan" in capsys.readouterr().err
    write(features="", pipelines="")
    (project_dir / "platform.yaml").write_text("teams: [ml]\nclusters: []\n")
    assert run(["-C", str(project_dir), "plan"]) == 1
    err = capsys.readouterr().err.strip()
    assert (
        err.endswith(
            "platform.yaml:2: unknown resource kind 'clusters' (known: teams, "
            "principals, quotas, tables, deployments, monitors, vector_indexes)"
        )
        and "\n" not in err
    )
    (project_dir / "platform.yaml").write_text("quotas:\n  - {scope: team, subject: ml}\n")
    assert run(["-C", str(project_dir), "apply"]) == 1
    err = capsys.readouterr().err.strip()
    assert "platform.yaml:2:" in err and "\n" not in err
