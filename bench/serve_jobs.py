"""``shipyard serve`` with its embedded worker: idle cost, 202 answers, and jobs run by it.

Phases (SQLite, a fresh project, one ``shipyard serve`` process):

1. Idle: after ``WARMUP`` s, the server process's CPU (``/proc/<pid>/stat``) over
   ``IDLE`` s and its RSS — HTTP server, embedded worker and scheduler together.
2. ``N_OPS`` lake refreshes, one after the other: ``POST .../refresh`` answers 202
   (latency of the answer), then the job is polled every 5 ms until it succeeded
   (202 to ``succeeded`` as the caller sees it; the refresh itself is most of it);
   beside the same refresh with ``?wait=true`` (in the request, as before).

Targets (issue #13): idle scheduler + worker < 1 % CPU, < 150 MB.
Usage: ``python bench/serve_jobs.py`` (``WARMUP``=8, ``IDLE``=20, ``N_OPS``=30; ``EMBEDDED=0``:
idle figures of the server without its embedded worker, the baseline).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.servers import served_project  # noqa: E402

from shipyard.lake import TableDefinition  # noqa: E402
from shipyard.platform import Platform  # noqa: E402

WARMUP = float(os.environ.get("WARMUP", "8"))
IDLE = float(os.environ.get("IDLE", "20"))
N_OPS = int(os.environ.get("N_OPS", "30"))
EMBEDDED = "false" if os.environ.get("EMBEDDED") == "0" else "true"
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server_pid(port: str) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmd and port.encode() in cmd:
                return int(proc.name)
    raise RuntimeError("server process not found")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        # EMBEDDED=0: the same server without its worker (the idle figures' baseline)
        (project / "shipyard.yaml").write_text(f"jobs: {{embedded: {EMBEDDED}}}\n")
        with Platform.open(project) as p:
            p.lake.write("bronze.e", pa.table({"x": list(range(1000))}))
            p.lake.define(TableDefinition(name="gold.c", sql="SELECT count(*) AS n FROM bronze.e"))
            token = p.security.create_token(name="bench").token
        with served_project(project) as url, httpx.Client(base_url=url, timeout=60) as http:
            pid = _server_pid(url.rsplit(":", 1)[1])
            time.sleep(WARMUP)
            before = _cpu_seconds(pid)
            time.sleep(IDLE)
            idle = {"cpu_pct": 100 * (_cpu_seconds(pid) - before) / IDLE, "rss_mb": _rss_mb(pid)}
            auth = {"Authorization": f"Bearer {token}"}
            accept: list[float] = []
            done: list[float] = []
            sync: list[float] = []
            if EMBEDDED == "false":
                print(json.dumps({"idle_without_embedded_worker": idle}, indent=2))
                return
            path = "/api/v1/lake/tables/gold.c/refresh"
            for _ in range(N_OPS):
                t0 = time.perf_counter()
                r = http.post(path, json={"full": True}, headers=auth)
                accept.append(1000 * (time.perf_counter() - t0))
                assert r.status_code == 202, r.text
                while (job := http.get(r.headers["location"], headers=auth).json())["state"] in (
                    "queued",
                    "running",
                ):
                    time.sleep(0.005)
                assert job["state"] == "succeeded", job
                done.append(1000 * (time.perf_counter() - t0))
                t0 = time.perf_counter()
                r = http.post(path + "?wait=true", json={"full": True}, headers=auth)
                assert r.status_code == 200, r.text
                sync.append(1000 * (time.perf_counter() - t0))
    out = {
        "idle": idle,
        "accept_ms": {"p50": statistics.median(accept), "p95": _pct(accept, 0.95)},
        "accepted_to_succeeded_ms": {"p50": statistics.median(done), "p95": _pct(done, 0.95)},
        "wait_true_ms": {"p50": statistics.median(sync), "p95": _pct(sync, 0.95)},
        "load_average": os.getloadavg(),
    }
    print(json.dumps(out, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "serve_jobs.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
