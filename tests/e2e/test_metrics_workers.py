"""`/metrics` of `shipyard serve --workers 2`: one scrape of either worker reports the
requests of both (prometheus-client multiprocess mode, ADR 0051)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict

from shipyard.platform import Platform
from tests.servers import served_project

HEALTH = 'shipyard_http_requests_total{method="GET",route="_health",status="2xx"}'


def _server_pid(port: str) -> int:
    """The `shipyard serve` process listening on ``port`` (its command line names it)."""
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and b"--port" in cmd and port.encode() in cmd:
            return int(entry.name)
    raise AssertionError("no server process")


def _metrics_dir(server: int) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR the server gave its workers (from a worker's environment)."""
    for entry in Path("/proc").iterdir():
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) != server:
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        for var in env:
            if var.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                return Path(var.split(b"=", 1)[1].decode())
    raise AssertionError("no worker with a PROMETHEUS_MULTIPROC_DIR")


def _health_per_worker(folder: Path) -> dict[str, float]:
    """Each worker's own count of /api/v1/health (its counter file, read directly)."""
    out: dict[str, float] = {}
    for f in folder.glob("counter_*.db"):
        for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(f)):
            _metric, name, labels, _help = json.loads(key)
            if name == "shipyard_http_requests_total" and labels.get("route") == "_health":
                out[f.name] = out.get(f.name, 0.0) + value
    return out


def _value(body: str, series: str) -> float:
    found = [float(x.rsplit(" ", 1)[1]) for x in body.splitlines() if x.startswith(series + " ")]
    return found[0] if found else 0.0


def test_one_scrape_reports_every_worker(project_dir: Path) -> None:
    (project_dir / "shipyard.yaml").write_text("jobs:\n  embedded: false\n")  # a quicker start
    with Platform.open(project_dir) as p:
        token = p.security.create_token(principal="local-admin").token
    admin = {"Authorization": f"Bearer {token}"}
    with served_project(project_dir, "--workers", "2") as url:
        folder = _metrics_dir(_server_pid(url.rsplit(":", 1)[1]))
        sent = 0
        with ThreadPoolExecutor(8) as pool:  # new connections, in parallel: both accept
            for _ in range(10):
                codes = list(pool.map(lambda _: httpx.get(f"{url}/api/v1/health").status_code,
                                      range(40)))  # fmt: skip
                sent += len(codes)
                assert set(codes) == {200}
                per_worker = _health_per_worker(folder)
                if len(per_worker) == 2 and all(per_worker.values()):
                    break
        sent += 1  # served_project's own readiness probe
        # A request is counted just after its answer is sent (the middleware's `finally`):
        # the last answers may be read before their counts are in the files.
        settled = time.monotonic() + 5
        while sum(per_worker.values()) < sent and time.monotonic() < settled:
            time.sleep(0.02)
            per_worker = _health_per_worker(folder)
        assert len(per_worker) == 2 and all(per_worker.values()), per_worker
        assert sum(per_worker.values()) == sent  # the files are the whole story
        seen = []
        for _ in range(4):  # each scrape is answered by one worker: every one says `sent`
            with httpx.Client(base_url=url, timeout=30) as c:  # a new connection each time
                seen.append(_value(c.get("/metrics", headers=admin).text, HEALTH))
        assert seen == [sent] * 4, (seen, per_worker)
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()  # the server removes its run's directory
