"""``shipyard worker`` and ``shipyard jobs``: drain on SIGTERM, and the CLI over the service."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipyard.cli.main import run
from shipyard.pipelines.models import JobState
from shipyard.platform import Platform
from tests.contract.pipelines.suite import FUNCS, ROOT, _env


def test_sigterm_drains_finishing_the_running_job_and_claiming_no_more(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [FUNCS]}}))
    out, started = tmp_path / "done.txt", tmp_path / "started"
    with Platform.open(tmp_path) as p:
        running = p.jobs.submit(
            f"{FUNCS}:append_after",
            {"path": str(out), "seconds": 1.0, "started": str(started)},
            priority=1,
        )
        waiting = p.jobs.submit("shipyard.pipelines.builtin:noop")
    proc = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "-C", str(tmp_path), "worker", "--processes", "2"],
        env=_env(),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with Platform.open(tmp_path) as p:
        assert p.jobs.get(running.id).state == JobState.SUCCEEDED
        assert out.read_text() == "done\n"
        # the other process may have run the no-op before the signal, never after it
        assert p.jobs.get(waiting.id).state in (JobState.QUEUED, JobState.SUCCEEDED)
        assert p.jobs.list(state=JobState.RUNNING).items == []


def test_jobs_cli_submit_list_show_logs_cancel(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["-C", str(project_dir), "jobs"]
    target = "shipyard.pipelines.builtin:echo"
    assert run([*base, "submit", target, "--args", '{"x": 1}', "--json"]) == 0
    job_id = json.loads(capsys.readouterr().out)["id"]
    assert run([*base, "list", "--json"]) == 0
    assert [j["id"] for j in json.loads(capsys.readouterr().out)] == [job_id]
    assert run([*base, "show", job_id]) == 0
    assert "state: queued" in capsys.readouterr().out
    assert run([*base, "cancel", job_id]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert run([*base, "logs", job_id]) == 0
    assert run([*base, "submit", "os:system", "--args", '{"command": "id"}']) == 1
    assert "not allowed" in capsys.readouterr().err
    assert run([*base, "submit", target, "--args", "[1]"]) == 1
    assert run([*base, "show", "nope"]) == 1
