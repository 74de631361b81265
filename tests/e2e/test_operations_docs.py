"""The runnable blocks of docs/operations.md's "Backup and restore", "Environments" and "OpenLineage"
sections, run literally in one bash session (as tests/e2e/test_docs_run.py runs the README)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard
from tests.e2e.test_docs_run import BLOCK

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("## Backup and restore", "## Environments", "## OpenLineage")

pytestmark = pytest.mark.slow


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    rest = text[start + len(heading) :]
    end = re.search(r"^## ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_operations_page_runs(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    parts = ["set -euo pipefail"]
    for heading in SECTIONS:
        for m in BLOCK.finditer(_section(text, heading)):
            if m[1]:  # <!-- not-run -->
                continue
            code = m[3]
            parts.append(code if m[2] == "bash" else f"python - <<'DOC_PY'\n{code}DOC_PY")
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(tmp_path)
    # The shipyard these tests import, whatever the working directory of the session.
    src = str(Path(shipyard.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    shim = tmp_path / "bin"
    shim.mkdir()
    # `shipyard` and `python` are this interpreter's (the harness of test_docs_run does the same).
    (shim / "shipyard").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m shipyard "$@"\n')
    (shim / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for f in shim.iterdir():
        f.chmod(0o755)
    env["PATH"] = f"{shim}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", "\n".join(parts) + "\n"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "COMPLETE lake.ingest/table:bronze.orders" in done.stdout
    assert "bronze.orders" in done.stdout
