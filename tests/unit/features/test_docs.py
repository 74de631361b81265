"""The runnable example of docs/features.md runs, as a user would run it (a script)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "features.md"


def test_docs_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "training_set:churn_train@1" in out and "'PRESENT', 'NOT_FOUND'" in out
