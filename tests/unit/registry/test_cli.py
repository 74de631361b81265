"""`shipyard runs ...` and `shipyard models ...` as a user drives them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.cli import _common
from shipyard.cli.main import run
from shipyard.platform import Platform


def _cli(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["-C", str(project), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_and_models_commands(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    width = _common.console.width
    _common.console.width = 200
    X = pd.DataFrame({"a": np.linspace(0, 1, 20), "b": np.linspace(1, 0, 20)})
    y = (X.a > 0.5).astype(int)
    with Platform.open(project_dir) as p:
        ids = []
        for name, c in [("small", 0.1), ("big", 10.0)]:
            with p.tracking.start_run(experiment="churn", run_name=name) as r:
                r.log_params({"C": c, "solver": "lbfgs"})
                r.log_metrics({"auc": 0.7 if c < 1 else 0.9})
                r.log_model(LogisticRegression(C=c).fit(X, y), "model")
            ids.append(r.id)
        p.security.create_principal("ann", role="approver")
    try:
        code, out, _ = _cli(
            project_dir,
            capsys,
            "runs",
            "list",
            "-e",
            "churn",
            "-f",
            "metrics.auc > 0.8 or params.C = '0.1'",
            "-o",
            "metrics.auc DESC",
            "--json",
        )
        assert code == 0
        assert [r["name"] for r in json.loads(out)["items"]] == ["big", "small"]
        code, out, _ = _cli(project_dir, capsys, "runs", "compare", *ids)
        assert code == 0 and "params.C *" in out and "metrics.auc" in out
        code, _, err = _cli(project_dir, capsys, "runs", "list", "-f", "metrics.auc >>")
        assert code == 1 and "position" in err
        code, out, _ = _cli(project_dir, capsys, "runs", "show", ids[1])
        assert code == 0 and "auc" in out

        code, out, _ = _cli(
            project_dir, capsys, "models", "register", "churn", f"runs:/{ids[1]}/model"
        )
        assert code == 0 and "model:churn@1" in out
        code, out, _ = _cli(project_dir, capsys, "models", "alias", "churn", "champion", "1")
        assert code == 0 and "awaits approval" in out
        request_id = out.split("promotion request ")[1].split()[0]
        code, _, err = _cli(project_dir, capsys, "models", "approve", request_id)
        assert code == 1 and "self-approval" in err
        code, out, _ = _cli(
            project_dir, capsys, "models", "promotions", "--status", "pending", "--json"
        )
        assert [r["id"] for r in json.loads(out)] == [request_id]
    finally:
        _common.console.width = width
    with Platform.open(project_dir, principal="ann") as p:
        p.registry.approve_promotion(request_id)
    code, out, _ = _cli(project_dir, capsys, "models", "history", "churn", "--json")
    assert [(e["version"], e["approved_by"]) for e in json.loads(out)] == [(1, "ann")]
    code, out, _ = _cli(project_dir, capsys, "models", "show", "churn", "--json")
    assert json.loads(out)["versions"][0]["aliases"] == ["champion"]
