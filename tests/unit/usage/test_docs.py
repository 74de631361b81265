"""The runnable example of docs/operations.md (usage section) runs as a user would run it."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_usage_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    section = _section("Usage and chargeback")
    block = re.search(r"```python\n(.*?)```", section, re.S)
    printed = re.search(r"prints\n\n```\n(.*?)```", section, re.S)
    assert block is not None and printed is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    runpy.run_path(str(script), run_name="__main__")
    assert capsys.readouterr().out == printed.group(1)
