"""The runnable example of docs/events.md runs as a user would run it (a script)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def test_docs_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    script = tmp_path / "example.py"
    script.write_text(block.group(1))
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "0 4",
        "False True",
        "orders:0-3 [0, 1, 2, 3]",
        "orders:4-5 [4, 5]",
        "True",
        "2 6 6",
        "[('orders', 6), ('shipyard.default.table.committed', 2)]",
    ]
