"""`shipyard features plan|apply`, `materialize` and `features ...` over definition files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli.main import run
from shipyard.platform import Platform
from tests.unit.features.helpers import day, write_table

DEFS = """
from datetime import timedelta
from shipyard.features import Entity, Feature, FeatureService, FeatureView

customer = Entity(name="customer", join_keys=["customer_id"])
daily = FeatureView(
    name="daily", entities=["customer"], source="gold.daily", timestamp_field="event_ts",
    features=[Feature("spend", "{dtype}")], ttl=timedelta(days=3650),
)
churn = FeatureService(name="churn", features=[daily])
"""


@pytest.fixture
def project(platform: Platform, project_dir: Path) -> Path:
    df = pd.DataFrame({"customer_id": [1, 2], "event_ts": [day(1), day(2)], "spend": [1.5, 2.5]})
    write_table(platform, "gold.daily", df)
    (project_dir / "features.py").write_text(DEFS.format(dtype="float64"))
    return project_dir


def _run(project: Path, *args: str) -> int:
    return run(["-C", str(project), *args])


def test_plan_apply_materialize_show(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(project, "features", "plan") == 0
    out = capsys.readouterr().out
    assert "+ entity customer" in out and "3 change(s) to apply" in out
    assert _run(project, "features", "apply") == 0
    assert "3 change(s) applied" in capsys.readouterr().out
    assert _run(project, "features", "plan", "--json") == 0
    assert {c["action"] for c in json.loads(capsys.readouterr().out)["changes"]} == {"unchanged"}

    assert _run(project, "materialize", "--json") == 0
    [res] = json.loads(capsys.readouterr().out)
    assert (res["view"], res["entities"]) == ("daily", 2)
    assert _run(project, "features", "online", "-e", "customer_id=2", "--service", "churn") == 0
    assert json.loads(capsys.readouterr().out)["values"]["spend"] == [2.5]
    assert _run(project, "features", "show", "daily", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"]["statistics"]["spend"]["max"] == 2.5
    assert _run(project, "features", "list", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_breaking_change_is_refused_then_forced(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(project, "features", "apply") == 0
    (project / "features.py").write_text(DEFS.format(dtype="int64"))
    capsys.readouterr()
    assert _run(project, "features", "apply") == 1
    err = capsys.readouterr().err
    assert "breaking" in err and "feature_service:churn" in err
    assert _run(project, "features", "apply", "--force") == 0


def test_a_file_that_does_not_import_names_file_and_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = project / "features" / "broken.py"
    bad.parent.mkdir()
    bad.write_text("from shipyard.features import Entity\n\nx = Entity(name='e', join_keys=[])\n")
    assert _run(project, "features", "plan", str(bad)) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3" in err and "join key" in err
    bad.write_text("def broken(:\n")
    assert _run(project, "features", "plan", str(bad)) == 1
    assert f"{bad}:1" in capsys.readouterr().err


def test_training_set_and_push_commands(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.features import Entity, Feature, FeatureView, PushSource
    from shipyard.platform import Platform

    assert _run(project, "features", "apply") == 0
    p = Platform.open(project)
    try:
        labels = pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [day(3), day(3)]})
        write_table(p, "silver.labels", labels)
        p.features.apply(
            [
                Entity(name="customer", join_keys=["customer_id"]),
                FeatureView(
                    name="clicks",
                    entities=["customer"],
                    source=PushSource("clicks", "bronze.clicks"),
                    timestamp_field="ts",
                    features=[Feature("n", "int64")],
                ),
            ],
            prune=False,
        )
    finally:
        p.close()
    capsys.readouterr()
    assert (
        _run(
            project,
            "features",
            "training-set",
            "t",
            "--entities",
            "silver.labels",
            "--service",
            "churn",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["num_rows"] == 2
    row = json.dumps({"customer_id": 1, "ts": day(1).isoformat(), "n": 3})
    assert _run(project, "features", "push", "clicks", "--row", row) == 0
    assert json.loads(capsys.readouterr().out)["online_written"] == 1
    assert _run(project, "features", "push", "clicks", "--row", '{"customer_id": 1}') == 1
    assert "lacks 'ts'" in capsys.readouterr().err
