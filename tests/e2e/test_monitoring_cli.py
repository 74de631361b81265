"""`shipyard monitor ...` as a user drives it, on a served and profiled model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.monitoring.conftest import monitored, serve, write_features  # noqa: F401


def _cli(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["-C", str(project), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_profile_drift_reports_and_metrics_from_the_cli(
    monitored: Platform,  # noqa: F811 - the fixture imported above
    project_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_features(monitored, shift=2.0, seed=9)
    serve(monitored)
    monitored.close()

    code, out = _cli(project_dir, capsys, "monitor", "show-profile", "model:churn@3")
    assert code == 0 and "model:churn@3" in out and "f0" in out
    code, out = _cli(
        project_dir, capsys, "monitor", "profile", "gold.customer_features", "-c", "f1"
    )
    assert code == 0 and "f1" in out
    code, out = _cli(project_dir, capsys, "monitor", "drift", "churn", "--window", "600", "--json")
    assert code == 0 and json.loads(out)["status"] == "drift"
    code, _ = _cli(project_dir, capsys, "monitor", "drift", "churn", "--fail-on-drift")
    assert code == 3
    code, out = _cli(project_dir, capsys, "monitor", "reports", "churn", "--json")
    assert code == 0 and [r["status"] for r in json.loads(out)] == ["drift", "drift"]
    code, out = _cli(project_dir, capsys, "monitor", "metrics")
    assert code == 0 and 'shipyard_drift_detected{deployment="churn"} 1.0' in out
    code, out = _cli(project_dir, capsys, "deployments", "stats", "churn")
    assert code == 0 and json.loads(out)["variants"]["a"]["requests"] == 400
    code, out = _cli(project_dir, capsys, "monitor", "performance", "churn", "--window", "600")
    assert code == 0 and "no labels yet" in out and "400" in out
    code, out = _cli(project_dir, capsys, "monitor", "performance", "churn", "--json")
    assert code == 0 and json.loads(out)["variants"][0]["predictions"] == 400
    code, out = _cli(project_dir, capsys, "monitor", "performance", "churn", "--bucket", "-1")
    assert code != 0 and "Traceback" not in out
    code, out = _cli(project_dir, capsys, "scorecard", "--json")
    assert code == 0 and json.loads(out)["models_in_production"] == 1
    code, out = _cli(project_dir, capsys, "monitor", "quality", "gold.customer_features", "--check")
    assert code == 0 and "version" in out
    code, out = _cli(project_dir, capsys, "monitor", "freshness", "--json")
    assert code == 0 and json.loads(out)[0]["watermark"]
    code, out = _cli(project_dir, capsys, "monitor", "drift", "nope")
    assert code != 0 and "Traceback" not in out
    code, out = _cli(project_dir, capsys, "monitor", "show-profile", "bogus:x")
    assert code != 0 and "Traceback" not in out
