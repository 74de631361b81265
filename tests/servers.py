"""Real servers for tests: the app under uvicorn in a thread, or `shipyard serve` as a process.

Both bind a free loopback port and are ready (health answers) when they yield.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from shipyard.api.app import create_app
from shipyard.platform import Platform


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, *, timeout: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not come up")
        time.sleep(0.02)


@contextmanager
def live_server(
    platform: Platform, factory: Callable[[Platform], Any] = create_app
) -> Iterator[str]:
    """``factory(platform)`` served by uvicorn in a thread of this process."""
    port = free_port()
    config = uvicorn.Config(
        factory(platform), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, timeout=10, alive=thread.is_alive)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def served_project(project: Path, *serve_args: str) -> Iterator[str]:
    """`shipyard -C project serve --port N` as a child process, as a user runs it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    command = [sys.executable, "-m", "shipyard", "-C", str(project), "serve", "--port", str(port)]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [*command, *serve_args], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                _wait_healthy(url, timeout=30, alive=lambda: proc.poll() is None)
            except RuntimeError:
                log.seek(0)
                raise RuntimeError(
                    f"shipyard serve did not come up: {log.read().decode()}"
                ) from None
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
