"""Spine costs: token auth per request, and re-opening a project.

Measures, on loopback against a real ``shipyard serve`` process (1 worker,
embedded SQLite catalog), with one keep-alive HTTP client:

- ``GET /api/v1/health`` (no auth) and ``GET /api/v1/whoami`` (bearer token):
  p50/p99; the difference is what authentication costs a request;
- ``SecurityService.authenticate`` in process (one indexed query);
- ``Platform.open`` of an existing project (the no-op schema check).

Usage: ``python bench/spine.py [--requests 2000]``; writes ``bench/results/spine.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from shipyard.platform import Platform

HERE = Path(__file__).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(samples: list[float]) -> dict[str, float]:
    """Milliseconds."""
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``); robust to a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _time_requests(
    client: httpx.Client, path: str, headers: dict[str, str], n: int, pid: int
) -> dict[str, float]:
    for _ in range(50):  # warm up: connection, caches, first last-used write
        client.get(path, headers=headers).raise_for_status()
    out = []
    cpu0 = _cpu_seconds(pid)
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(path, headers=headers).raise_for_status()
        out.append(time.perf_counter() - t0)
    stats = _percentiles(out)
    stats["server_cpu_ms_per_request"] = round((_cpu_seconds(pid) - cpu0) * 1000 / n, 3)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    results: dict[str, object] = {"requests": args.requests, "python": sys.version.split()[0]}

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        platform = Platform.open(project)
        token = platform.security.create_token(name="bench").token

        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            platform.security.authenticate(token)
            samples.append(time.perf_counter() - t0)
        results["authenticate_in_process"] = _percentiles(samples)

        samples = []
        for _ in range(20):
            t0 = time.perf_counter()
            Platform.open(project).close()
            samples.append(time.perf_counter() - t0)
        results["platform_open_existing"] = _percentiles(samples)

        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipyard.cli.main",
                "-C",
                str(project),
                "serve",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/api/v1/health", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            with httpx.Client(base_url=url, timeout=10) as client:
                auth = {"Authorization": f"Bearer {token}"}
                results["http_health_no_auth"] = _time_requests(
                    client, "/api/v1/health", {}, args.requests, server.pid
                )
                results["http_whoami_bearer"] = _time_requests(
                    client, "/api/v1/whoami", auth, args.requests, server.pid
                )
        finally:
            server.terminate()
            server.wait(10)
            platform.close()

    out = HERE / "results" / "spine.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
