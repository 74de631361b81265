"""Monitors in the project's files: checked at plan time, run as pipelines (drift + report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard import platform_code as pc
from shipyard.cli.main import run as run_cli
from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import drain
from tests.unit.platform_code.conftest import FULL_YAML, Write

MONITOR = '  - deployment: churn\n    schedule: "0 * * * *"\n'


def _with(extra: str) -> str:
    assert MONITOR in FULL_YAML
    return FULL_YAML.replace(MONITOR, MONITOR + extra)


BAD = [
    ("    features: [a, zzz]\n", "unknown feature(s) ['zzz'] of deployment 'churn'"),
    ("    features: []\n", "features must be a non-empty list"),
    ("    thresholds: {psi: -1}\n", "threshold psi: Input should be greater than 0"),
    ("    thresholds: {js: 2}\n", "threshold js"),
    ("    thresholds: {psii: 0.1}\n", "unknown threshold(s) ['psii']"),
    ("    thresholds: 0.1\n", "thresholds must be a mapping"),
    ("    window_seconds: 0\n", "window_seconds must be in (0, 366 days]"),
    ("    window_seconds: soon\n", "window_seconds must be a number"),
    ("    alerts: yes\n", "unknown field(s) ['alerts']"),
]


def test_a_bad_monitor_is_refused_at_plan_time(models: Platform, write: Write) -> None:
    for extra, says in BAD:  # one platform for all: a refused plan changes nothing
        files = write(yaml=_with(extra))
        with pytest.raises(InvalidArgument) as info:
            pc.plan(models, files)
        message = info.value.message
        assert says in message and "monitor 'monitor_churn'" in message, (extra, message)
        assert message.startswith(f"{files[0]}:")
    nowhere = FULL_YAML.replace("  - deployment: churn\n", "  - deployment: nowhere\n")
    with pytest.raises(InvalidArgument, match="deployment 'nowhere', which does not exist"):
        pc.plan(models, write(yaml=nowhere))
    assert models.pipelines.list() == []


def test_a_monitor_runs_drift_through_the_pipelines_and_says_when_its_window_is_empty(
    models: Platform, write: Write, project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    yaml = _with("    window_seconds: 600\n    thresholds: {psi: 0.1, min_rows: 50}\n")
    yaml += "    features: [a]\n"
    plan = pc.plan(models, write(yaml=yaml))
    pc.apply(models, plan)
    steps = models.pipelines.get("monitor_churn").spec["steps"]
    assert [s["action"] for s in steps] == ["monitoring.drift", "monitoring.report"]
    assert pc.plan(models, write(yaml=yaml)).pending == []  # stored as declared

    cli = ["-C", str(project_dir)]
    assert run_cli([*cli, "monitors", "list", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["deployment"] == "churn" and listed["last_run"] is None
    assert listed["settings"] == {
        "window_seconds": 600,
        "thresholds": {"psi": 0.1, "min_rows": 50},
        "features": ["a"],
    }
    assert run_cli([*cli, "monitors", "run", "nightly"]) == 1  # not a monitor
    assert "is not a monitor" in capsys.readouterr().err
    assert run_cli([*cli, "monitors", "run", "monitor_churn", "--json"]) == 0
    run = models.pipelines.get_run(json.loads(capsys.readouterr().out)["id"])
    drain(models)
    done = models.pipelines.get_run(run.id)
    result = models.jobs.get(done.steps["drift"]["job"]).result
    assert result["status"] == "insufficient_data", result
    assert result["message"] == "no predictions logged yet"
    (report,) = models.monitoring.list_drift_reports("churn")
    assert (report.thresholds.psi, report.thresholds.min_rows) == (0.1, 50)
    assert (report.window_end - report.window_start).total_seconds() == 600
    assert models.events.read_records("monitoring.alerts") == []  # nothing fired
    assert models.monitoring.list_incidents("churn") == []
