"""docs/monitoring.md's example, run literally (the same harness as the README tour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_docs_run import ROOT, run_page

pytestmark = pytest.mark.slow


def test_monitoring_page_runs_top_to_bottom(tmp_path: Path) -> None:
    out = run_page(ROOT / "docs" / "monitoring.md", tmp_path)
    assert "model:credit@1" in out  # profiled at registration
    assert "drift ['age']" in out  # only the feature that moved
    assert "['age']" in out.split("drift ['age']", 1)[1]  # the alert names it
    assert '"requests": 320' in out  # stats from the log, read by the CLI (300 + 20 labelled)
    assert "labeled 20 of 320" in out  # ground truth joined to the window's predictions
    assert "null rate 0.0" in out and "deployments 1" in out
    assert "slo avail ok 320 requests" in out
    assert "incidents [('drift', 'open')]" in out  # the drift above opened one, once
    assert "['slo']" in out and "slo job succeeded" in out  # one scheduler tick, one worker
    assert "['f0']" in out  # the streamed window finds the one shifted feature
