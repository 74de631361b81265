"""The runnable example of docs/operations.md ("Platform as code") prints what the page says."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def test_platform_as_code_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text()
    start = text.index("## Platform as code\n")
    section = text[start : text.index("\n## ", start + 1)]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    printed = re.search(r"prints\n\n```\n(.*?)```", section, re.S)
    assert block is not None and printed is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out == printed.group(1)
