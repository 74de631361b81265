"""The runnable example of docs/serving.md runs as a user would run it (a script)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "serving.md"


def test_docs_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[-1] == "PRESENT"
    assert "{'a': 75, 'c': 25}" in out
    assert "['churn: hold (0 of 20 requests since the step)']" in out
    assert "500 1 1" in out
    assert out[-1] == "model_export:churn.v1.onnx@1 True", out
