"""``shipyard --env ... env ...``: the docs' walk through one project with dev and prod."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.environments.conftest import model_in


def test_promote_and_approve_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "shipyard.yaml").write_text("environments:\n  names: [dev, prod]\n")
    with Platform.open(project, environment="dev") as dev:
        version = model_in(dev)
    with Platform.open(project, environment="prod") as prod:
        prod.security.create_principal("alice", team="ml", role="approver")
    monkeypatch.delenv("SHIPYARD_ENVIRONMENT", raising=False)
    capsys.readouterr()

    assert run(["-C", str(project), "--env", "dev", "env", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["name"], e["current"]) for e in listed] == [("dev", True), ("prod", False)]
    assert "SHIPYARD_ENVIRONMENT" not in os.environ  # --env lasts one command

    assert (
        run(["-C", str(project), "--env", "dev", "env", "promote", "churn", str(version), "--json"])
        == 0
    )
    request = json.loads(capsys.readouterr().out)
    assert request["status"] == "pending" and request["target"] == "prod"

    # the requester cannot approve it; alice (prod's approver) can
    assert run(["-C", str(project), "--env", "prod", "env", "approve", request["id"]]) == 1
    assert "self-approval" in capsys.readouterr().err
    monkeypatch.setenv("SHIPYARD_SECURITY_SDK_PRINCIPAL", "alice")
    assert run(["-C", str(project), "--env", "prod", "env", "approve", request["id"]]) == 0
    assert "approved" in capsys.readouterr().out
    monkeypatch.delenv("SHIPYARD_SECURITY_SDK_PRINCIPAL")
    assert run(["-C", str(project), "--env", "prod", "env", "requests", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["decided_by"] == "alice"
    # dev declares no definitions prod lacks: the plan says so and prints no digest
    assert run(["-C", str(project), "--env", "dev", "env", "plan"]) == 0
    out = capsys.readouterr().out
    assert "nothing to promote into prod" in out and "--digest" not in out
    # without an environment the project is the one it always was: dev's model is not there
    assert run(["-C", str(project), "env", "promote", "churn", "1", "--to", "prod"]) == 1
    assert "no registered model named 'churn'" in capsys.readouterr().err
