"""`shipyard train run|tune|list|show|study` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform

F = "tests.unit.training.funcs"


def test_train_run_list_show_and_tune(
    project_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["-C", str(project_dir)]
    assert (
        run(
            [
                *d,
                "train",
                "run",
                f"{F}:quadratic",
                "--params",
                '{"x": 1}',
                "--backend",
                "inprocess",
                "--json",
            ]
        )
        == 0
    )
    job = json.loads(capsys.readouterr().out)
    with Platform.open(project_dir) as p:
        Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
    assert run([*d, "train", "show", job["id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "succeeded" and shown["metrics"] == {"loss": 1.0}
    assert run([*d, "train", "list", "--json"]) == 0
    assert [j["id"] for j in json.loads(capsys.readouterr().out)] == [job["id"]]

    space = tmp_path / "space.yaml"
    space.write_text("x: {type: float, low: 0, high: 4}\n")
    argv = [
        *d,
        "train",
        "tune",
        f"{F}:quadratic",
        "--space",
        str(space),
        "--trials",
        "4",
        "--metric",
        "loss",
        "--direction",
        "minimize",
        "--study",
        "cli",
        "--pruner",
        "none",
    ]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert "study cli: 4 trials (4 complete" in out and "best loss" in out
    assert run([*d, "train", "study", "cli", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["complete"] == 4


def test_cli_mistakes_are_one_line(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = ["-C", str(project_dir)]
    assert run([*d, "train", "run", f"{F}:quadratic", "--gpus", "64"]) != 0
    assert run([*d, "train", "tune", f"{F}:quadratic", "--space", "/nope.yaml"]) != 0
    assert run([*d, "train", "run", f"{F}:quadratic", "--params", "[1]"]) != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "GPU" in err and "cannot read" in err
