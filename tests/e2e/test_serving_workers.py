"""Inference workers of a real server: outside the server process, and no orphans.

``shipyard serve`` and ``shipyard deployments serve`` run models in worker processes
(``serving/worker.py``); when the server stops (SIGTERM) or dies (SIGKILL), so do they.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.contract.serving.suite import build_served_model
from tests.servers import free_port


def _children(pid: int) -> set[int]:
    """Worker processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"shipyard.serving._worker_main" in cmdline:
            found.add(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


@pytest.mark.parametrize(
    ("command", "stop"),
    [
        (["serve"], signal.SIGTERM),
        (["deployments", "serve"], signal.SIGTERM),
        (["deployments", "serve"], signal.SIGKILL),
    ],
)
def test_server_workers_do_not_outlive_it(
    project_dir: Path, command: list[str], stop: signal.Signals
) -> None:
    with Platform.open(project_dir) as p:
        build_served_model(p, n=50)
        p.serving.create_deployment(
            "churn",
            variants=[Variant(name="a", model="churn@live")],
            feature_service="churn",
            entity_keys=["customer_id"],
        )
        p.security.create_principal("pat", role="predictor")
        token = p.security.create_token(principal="pat").token
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    cmd = [sys.executable, "-m", "shipyard", "-C", str(project_dir), *command, "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        r = httpx.post(
            f"{url}/api/v1/deployments/churn/predict",
            json={"inputs": [{"customer_id": 3}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        workers = _children(proc.pid)
        assert workers, "the model should be served by a worker process"
        proc.send_signal(stop)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not all(_gone(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(w) for w in workers), f"orphaned workers {workers}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
