"""Auth against a real `shipyard serve` process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.platform import Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(project_dir: Path) -> Iterator[tuple[str, Platform]]:
    """(base URL, the same project opened in-process) while `shipyard serve` runs."""
    platform = Platform.open(project_dir)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard.cli.main",
            "-C",
            str(project_dir),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"shipyard serve did not come up: {out}")
            time.sleep(0.05)
        yield url, platform
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        platform.close()


def test_real_server_enforces_tokens(served: tuple[str, Platform]) -> None:
    url, platform = served
    admin = platform.security.create_token(name="admin").token
    platform.security.create_principal("vera", role="viewer")
    viewer = platform.security.create_token(principal="vera").token

    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        r = http.get("/api/v1/whoami")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert (
            http.get("/api/v1/whoami", headers={"Authorization": "Bearer shp_nope"}).status_code
            == 401
        )
        me = http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {viewer}"})
        assert me.status_code == 200 and me.json()["name"] == "vera"

        as_viewer = {"Authorization": f"Bearer {viewer}"}
        assert http.get("/api/v1/catalog/assets", headers=as_viewer).status_code == 200
        r = http.post("/api/v1/catalog/assets", json={"ref": "table:x.y"}, headers=as_viewer)
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"

        as_admin = {"Authorization": f"Bearer {admin}"}
        token_id = platform.security.list_tokens(principal="vera")[0].id
        assert http.delete(f"/api/v1/tokens/{token_id}", headers=as_admin).status_code == 200
        r = http.get("/api/v1/whoami", headers=as_viewer)
        assert r.status_code == 401 and "revoked" in r.json()["message"]

    denied = platform.audit.list_records(principal="vera", outcome="denied").items
    assert {d.action for d in denied} == {"catalog.register", "security.authenticate"}
