"""docs/training.md's Python example, run on a small demo project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_docs_run import blocks

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "training.md"
SPACE = """learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
max_leaf_nodes: {type: int, low: 4, high: 64, log: true}
min_samples_leaf: {type: int, low: 5, high: 200, log: true}
l2_regularization: {type: float, low: 0.000001, high: 10.0, log: true}
"""


@pytest.mark.slow
def test_the_example_improves_auc_over_the_defaults(tmp_path: Path) -> None:
    (python,) = [code for lang, code in blocks(PAGE) if lang == "python"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    demo = [sys.executable, "-m", "shipyard", "demo", "--dir", str(tmp_path), "--requests", "3"]
    subprocess.run(demo, env=env, check=True, capture_output=True, timeout=240)
    (tmp_path / "shipyard.yaml").write_text("jobs:\n  modules: [shipyard.demo.training]\n")
    (tmp_path / "space.yaml").write_text(SPACE)
    r = subprocess.run(
        [sys.executable, "-c", python],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "default params: auc" in r.stdout and "search: " in r.stdout
    assert "churn_tuned/1" in r.stdout
