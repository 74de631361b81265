"""The README tour and the quickstart, run literally from top to bottom.

Every ```bash and ```python block of each page runs in order in one bash session
(python blocks through ``python - <<EOF``), so the docs and the code cannot drift.
A block may be skipped only when the line before it is ``<!-- not-run: why -->``.
What the harness adds, and only this: the README's ``make demo`` line becomes a
small ``shipyard demo``; ``.venv`` is the running interpreter's; port 8765 becomes
a free port (also ``SHIPYARD_SERVER_PORT``); after ``shipyard serve ... &`` it waits for the health probe; the
background server is stopped at the end.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(<!--\s*not-run[^>]*-->\s*\n)?```(bash|python)\n(.*?)```", re.DOTALL)
DOC_PORT = "8765"

pytestmark = pytest.mark.slow


def blocks(page: Path) -> list[tuple[str, str]]:
    """The runnable (language, code) blocks of ``page``, in order."""
    return [(m[2], m[3]) for m in BLOCK.finditer(page.read_text()) if not m[1]]


def script(page: Path, port: int) -> str:
    parts = ["set -euo pipefail"]
    for lang, code in blocks(page):
        code = code.replace(DOC_PORT, str(port))
        if lang == "python":
            parts.append(f"python - <<'SHIPYARD_DOC_PY'\n{code}SHIPYARD_DOC_PY")
            continue
        for line in code.splitlines():
            parts.append(line)
            if re.match(r"^shipyard serve\b.*&", line):
                parts.append(_wait_for(port))
    return "\n".join(parts) + "\n"


def _wait_for(port: int) -> str:
    url = f"http://127.0.0.1:{port}/api/v1/health"
    return f"for _ in $(seq 300); do curl -sf {url} >/dev/null && break; sleep 0.1; done"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_page(page: Path, cwd: Path, *, setup: str = "") -> str:
    venv = cwd / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix))
    if not (venv / "bin" / "activate").exists():  # not a venv: make `source` a no-op
        pytest.fail(f"{sys.prefix} is not a virtual environment (run under `make test`)")
    port = _free_port()
    body = script(page, port)
    trap = "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env["SHIPYARD_SERVER_PORT"] = str(port)  # a bare `shipyard serve` uses it too
    r = subprocess.run(
        ["bash", "-c", trap + setup + body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, f"{page.name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_every_page_has_runnable_blocks_and_few_skips() -> None:
    for page in (ROOT / "README.md", ROOT / "docs" / "quickstart.md"):
        text = page.read_text()
        assert len(blocks(page)) >= 3
        assert text.count("<!-- not-run") <= 2


def test_readme_starts_with_its_title_then_make_demo_and_make_test() -> None:
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    assert lines[0] == "# Shipyard"
    assert lines[1].startswith("make demo") and lines[2].startswith("make test")


def test_readme_tour_runs_top_to_bottom(tmp_path: Path) -> None:
    # The README's first line, `make demo`, at a size that keeps this test short.
    demo = f"{shlex.quote(sys.executable)} -m shipyard demo --customers 150 --days 20 --requests 3 >/dev/null\n"
    out = run_page(ROOT / "README.md", tmp_path, setup=demo)
    assert '"predictions"' in out  # the curl to the served model answered
    assert "bronze.orders" in out  # the remote catalog search


def test_quickstart_runs_top_to_bottom(tmp_path: Path) -> None:
    out = run_page(ROOT / "docs" / "quickstart.md", tmp_path)
    assert '"name":"ana"' in out.replace(" ", "")  # whoami over HTTP with the exported $TOKEN
    assert "ana\nno table named 'no.such'" in out  # the remote SDK: whoami, then a typed error
