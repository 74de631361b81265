"""Enqueue in one process, claim in another, on PostgreSQL: polling vs ``LISTEN/NOTIFY``.

Process A (this one) submits ``N_WAKE`` no-op jobs one at a time; process B is one
``Worker`` with the default poll intervals (``poll_interval`` 50 ms,
``idle_poll_interval`` 250 ms). Both runs in one go, each on
a fresh database:

- ``poll``: ``jobs.notify: false`` (B sees a job at its next poll, the behaviour before
  ADR 0055);
- ``notify``: ``jobs.notify: true`` (the default: the submit's ``NOTIFY`` wakes B's
  listener thread, which wakes the worker).

Latency is from A's commit (the engine's ``commit`` event, just before the ``COMMIT``
statement; the submit's one transaction) to the job's ``started_at`` (B's claim). Also
given: from the job's ``created_at`` (taken before the submit's transaction began, so
it includes the submit itself), and from ``submit``'s return (which can be below zero:
B claims before the rest of A's call has returned).

Each in two regimes of B's poll: ``active`` (a job less than 5 s ago: it polls every
50 ms; jobs 100-350 ms apart) and ``idle`` (more than 5 s without a job: every 250 ms;
forced here by setting ``shipyard.pipelines.worker.IDLE_AFTER = 0`` in B instead of
waiting 5 s between jobs; jobs 300-600 ms apart). After each job B's wait restarts at
1 ms and doubles, so the gaps are longer than that ramp (63 ms / 255 ms).
Before the idle run, B's CPU is read from ``/proc`` over ``IDLE`` s without jobs
(target < 1 % of a core). Also the submit call's own time in A (what the ``NOTIFY``
adds to an enqueue).

Usage: ``python bench/queue_wakeup.py`` (``N_WAKE``=200, ``IDLE``=20,
``SHIPYARD_TEST_PG_URL``). Writes ``bench/results/queue_wakeup.json``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from pipelines import _pct, fresh_pg  # noqa: E402

from shipyard._internal.clock import as_utc  # noqa: E402
from shipyard.platform import Platform  # noqa: E402

N_WAKE = int(os.environ.get("N_WAKE", "200"))
IDLE = float(os.environ.get("IDLE", "20"))
NOOP = "shipyard.pipelines.builtin:noop"
TICK = os.sysconf("SC_CLK_TCK")

_WORKER = """
import sys, time
from pathlib import Path
import shipyard.pipelines.worker as worker_module
from shipyard.platform import Platform
project, pool, n, idle = sys.argv[1:5]
if idle == "1":
    worker_module.IDLE_AFTER = 0.0  # poll at idle_poll_interval at once
with Platform.open(project) as p:
    w = p.worker(pools=[pool])  # the default poll intervals
    p.jobs.queue.watch(w._wake, [pool])  # start the listener now, to know it listens
    listener = p.jobs.queue.wakeups.listener
    if listener is not None:
        listener.listening.wait(10)
    Path(project, "ready-" + pool).touch()
    w.run(max_jobs=int(n))
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def one(p: Platform, project: Path, pool: str, idle: bool) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [str(project), pool, str(N_WAKE), "1" if idle else "0"]
    proc = subprocess.Popen([sys.executable, "-c", _WORKER, *args], env=env)
    out: dict[str, Any] = {}
    try:
        while not (project / f"ready-{pool}").exists():
            if proc.poll() is not None:
                raise RuntimeError("the worker process exited")
            time.sleep(0.01)
        if idle:
            time.sleep(2)
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(IDLE)
            cpu = (_cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - t0)
            out["cpu_pct"] = round(100 * cpu, 2)
        rng = random.Random(7)
        returned: dict[str, datetime] = {}
        commits: list[datetime] = []  # the engine's commit event: just before the COMMIT
        sa.event.listen(p.context.db.engine, "commit", lambda _: commits.append(_now()))
        committed: dict[str, datetime] = {}
        submit_ms = []
        gaps = (0.3, 0.6) if idle else (0.1, 0.35)  # past the poll's doubling from 1 ms
        for _ in range(N_WAKE):
            time.sleep(rng.uniform(*gaps))
            t = time.perf_counter()
            job = p.jobs.submit(NOOP, executor="inprocess", pool=pool)
            returned[job.id] = _now()
            committed[job.id] = commits[-1]
            submit_ms.append((time.perf_counter() - t) * 1000)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    lat: dict[str, list[float]] = {"commit": [], "returned": [], "created": []}
    for job_id, at in returned.items():
        job = p.jobs.get(job_id)
        if job.started_at is None:
            continue
        started = as_utc(job.started_at)
        lat["commit"].append((started - committed[job_id]).total_seconds() * 1000)
        lat["returned"].append((started - at).total_seconds() * 1000)
        lat["created"].append((started - as_utc(job.created_at)).total_seconds() * 1000)
    out["claimed"] = f"{len(lat['commit'])}/{N_WAKE}"
    for name, values in lat.items():
        out[f"{name}_to_claim_ms_p50"] = round(statistics.median(values), 1)
        out[f"{name}_to_claim_ms_p95"] = round(_pct(values, 0.95), 1)
    out["commit_to_claim_ms_max"] = round(max(lat["commit"]), 1)
    out["submit_ms_p50"] = round(statistics.median(submit_ms), 2)
    return out


def _now() -> datetime:
    return datetime.now(UTC)


def run(mode: str) -> dict[str, Any]:
    url = fresh_pg(f"bench_wake_{uuid.uuid4().hex[:8]}")
    if url is None:
        raise SystemExit("PostgreSQL not reachable")
    project = Path(tempfile.mkdtemp(prefix=f"bench-wake-{mode}-"))
    settings = {"catalog": {"url": url}, "jobs": {"notify": mode == "notify", "events": False}}
    (project / "shipyard.yaml").write_text(json.dumps(settings))
    out: dict[str, Any] = {"mode": mode, "load": round(os.getloadavg()[0], 1)}
    with Platform.open(project) as p:
        for regime in ("active", "idle"):
            got = one(p, project, regime, idle=regime == "idle")
            out |= {f"{regime}_{k}": v for k, v in got.items()}
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    results = [run("poll"), run("notify")]
    out = ROOT / "bench" / "results" / "queue_wakeup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
