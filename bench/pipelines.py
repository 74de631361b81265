"""The job queue: throughput, handoff latency and bulk enqueue, embedded and on PostgreSQL.

Phases, per metadata database (SQLite always, PostgreSQL when reachable):

1. ``submit_many`` of 10,000 jobs (one call, one transaction, one audit record).
2. Throughput: ``N_JOBS`` no-op jobs (in-process executor) queued first, then drained by
   ``WORKERS`` worker processes claiming ``BATCH`` at a time; jobs/s from the first
   start to the last finish, read back from the job records.
3. Handoff latency: one idle worker process (``poll_interval`` 10 ms); ``N_LAT`` jobs
   submitted one at a time at random 5-30 ms gaps; latency = job ``started_at`` minus
   ``created_at`` (taken before the submit transaction, so it includes the audited
   submit itself), and from the moment ``submit`` returned (committed) to ``started_at``.

4. Pipeline handoff: a 3-step chain of no-op steps (``N_CHAIN`` runs, one after the
   other, one idle worker process polling at 10 ms); handoff = a step's ``started_at``
   minus its upstream's ``finished_at`` (2 per run), and the chain end to end (run
   created to last step finished).
5. Backfill: ``pipelines.backfill`` of 10,000 daily partitions of a 2-step pipeline
   (10,000 runs and their 10,000 root jobs, one transaction).

Targets (issue #13): >= 2,000 jobs/s embedded, >= 1,000 jobs/s on PostgreSQL with 2
workers; handoff p95 <= 25 ms embedded, <= 50 ms PostgreSQL; 10,000 enqueued < 5 s;
10,000 backfill partitions enqueued < 5 s.
6. Beside Prefect 3 (``bench/prefect_compare.py``): the same 3-step no-op chain run
   embedded by each, same run, when Prefect's own virtualenv exists (``PREFECT_PYTHON``,
   default ``/tmp/prefect-venv/bin/python``; Prefect is not a Shipyard dependency:
   ``python -m venv /tmp/prefect-venv && /tmp/prefect-venv/bin/pip install "prefect==3.*"``).
   Target: the chain >= 20x faster end to end than Prefect's.

Usage: ``python bench/pipelines.py`` (knobs: ``N_JOBS``=10000, ``N_LAT``=200, ``BATCH``=64,
``N_CHAIN``=100, ``BENCH_BACKENDS``=sqlite,postgresql, ``JOB_EVENTS``=0 to run without
the workers' job lifecycle events, ``N_PREFECT``=30 chains per side). Writes
``bench/results/pipelines.json`` (and ``prefect_compare.json``).
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
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shipyard._internal.clock import as_utc  # noqa: E402
from shipyard.pipelines.models import JobState  # noqa: E402
from shipyard.pipelines.runs import RunState  # noqa: E402
from shipyard.pipelines.tables import jobs  # noqa: E402
from shipyard.platform import Platform  # noqa: E402

PG = os.environ.get("SHIPYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
N_JOBS = int(os.environ.get("N_JOBS", "10000"))
N_LAT = int(os.environ.get("N_LAT", "200"))
N_CHAIN = int(os.environ.get("N_CHAIN", "100"))
BATCH = int(os.environ.get("BATCH", "64"))
NOOP = {"target": "shipyard.pipelines.builtin:noop", "executor": "inprocess"}

_WORKER = """
import sys, time
from pathlib import Path
from shipyard.platform import Platform
from shipyard.pipelines.worker import Worker
project, pool, batch, poll, go, idle = sys.argv[1:7]
with Platform.open(project) as p:
    w = Worker(p, pools=[pool], batch=int(batch), poll_interval=float(poll))
    Path(project, "ready-" + str(w.worker_id).replace(":", "_")).touch()
    while not Path(project, go).exists():
        time.sleep(0.001)
    w.run(idle_exit=float(idle))
"""


def fresh_pg(name: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception:
        return None
    return PG.rsplit("/", 1)[0] + "/" + name


def _workers(
    project: Path, pool: str, n: int, poll: float, go: str, idle: float = 1.0
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(project),
                pool,
                str(BATCH),
                str(poll),
                go,
                str(idle),
            ],
            env=env,
        )
        for _ in range(n)
    ]
    while len(list(project.glob("ready-*"))) < n:
        time.sleep(0.01)
    return procs


def _records(p: Platform, pool: str) -> list[Any]:
    with p.context.db.connect() as conn:
        q = sa.select(
            jobs.c.id, jobs.c.state, jobs.c.created_at, jobs.c.started_at, jobs.c.finished_at
        )
        return list(conn.execute(q.where(jobs.c.pool == pool)))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_enqueue(p: Platform) -> dict[str, Any]:
    specs = [{**NOOP, "pool": "enqueue", "args": {"partition": i}} for i in range(10_000)]
    t0 = time.perf_counter()
    p.jobs.submit_many(specs)
    return {"enqueue_many_10000_s": round(time.perf_counter() - t0, 3)}


def bench_throughput(p: Platform, project: Path, workers: int) -> dict[str, Any]:
    pool = f"tp{workers}"
    p.jobs.submit_many([{**NOOP, "pool": pool} for _ in range(N_JOBS)])
    go = f"go-{pool}"
    procs = _workers(project, pool, workers, 0.05, go)
    (project / go).touch()
    for proc in procs:
        proc.wait()
    for f in project.glob("ready-*"):
        f.unlink()
    rows = _records(p, pool)
    done = [r for r in rows if r.state == JobState.SUCCEEDED.value]
    span = (max(r.finished_at for r in done) - min(r.started_at for r in done)).total_seconds()
    return {
        f"throughput_{workers}w_jobs_per_s": round(len(done) / span),
        f"throughput_{workers}w_done": f"{len(done)}/{len(rows)}",
    }


def bench_latency(p: Platform, project: Path) -> dict[str, Any]:
    pool, go = "lat", "go-lat"
    (project / go).touch()
    procs = _workers(project, pool, 1, 0.01, go, idle=3.0)
    time.sleep(1.5)  # let it go idle (its poll backs off to 10 ms)
    rng = random.Random(7)
    returned = {}
    for _ in range(N_LAT):
        job = p.jobs.submit(NOOP["target"], executor="inprocess", pool=pool)
        returned[job.id] = datetime.now(UTC)
        time.sleep(rng.uniform(0.005, 0.03))
    for proc in procs:
        proc.wait()
    for f in project.glob("ready-*"):
        f.unlink()
    rows = [r for r in _records(p, pool) if r.started_at is not None]
    lat = [(r.started_at - r.created_at).total_seconds() * 1000 for r in rows]
    committed = [
        (as_utc(r.started_at) - returned[r.id]).total_seconds() * 1000
        for r in rows
        if r.id in returned
    ]
    return {
        "handoff_from_commit_ms_p50": round(statistics.median(committed), 1),
        "handoff_from_commit_ms_p95": round(_pct(committed, 0.95), 1),
        "handoff_ms_p50": round(statistics.median(lat), 1),
        "handoff_ms_p95": round(_pct(lat, 0.95), 1),
        "handoff_ms_max": round(max(lat), 1),
        "handoff_n": len(lat),
    }


def _noop_step(name: str, after: list[str], pool: str) -> dict[str, Any]:
    return {"name": name, "after": after, "pool": pool, "function": NOOP["target"]}


def bench_chain(p: Platform, project: Path) -> dict[str, Any]:
    pool, go = "chain", "go-chain"
    steps = [_noop_step("a", [], pool), _noop_step("b", ["a"], pool), _noop_step("c", ["b"], pool)]
    p.pipelines.apply([{"name": "chain", "steps": steps}])
    (project / go).touch()
    procs = _workers(project, pool, 1, 0.01, go, idle=3.0)
    time.sleep(1.5)  # let it go idle
    rng = random.Random(7)
    runs = []
    for _ in range(N_CHAIN):
        run = p.pipelines.run("chain")
        while p.pipelines.get_run(run.id).state == RunState.RUNNING:
            time.sleep(0.002)
        runs.append(run.id)
        time.sleep(rng.uniform(0.005, 0.03))
    for proc in procs:
        proc.wait()
    for f in project.glob("ready-*"):
        f.unlink()
    byid = {r.id: r for r in _records(p, pool)}
    handoffs, chains = [], []
    for run_id in runs:
        done = p.pipelines.get_run(run_id)
        a, b, c = (byid[done.steps[s]["job"]] for s in "abc")
        handoffs += [
            (b.started_at - a.finished_at).total_seconds() * 1000,
            (c.started_at - b.finished_at).total_seconds() * 1000,
        ]
        chains.append((as_utc(c.finished_at) - done.created_at).total_seconds() * 1000)
    return {
        "chain_handoff_ms_p50": round(statistics.median(handoffs), 1),
        "chain_handoff_ms_p95": round(_pct(handoffs, 0.95), 1),
        "chain_end_to_end_ms_p50": round(statistics.median(chains), 1),
        "chain_end_to_end_ms_p95": round(_pct(chains, 0.95), 1),
        "chain_runs": len(runs),
    }


def bench_backfill(p: Platform) -> dict[str, Any]:
    steps = [_noop_step("a", [], "backfill"), _noop_step("b", ["a"], "backfill")]
    p.pipelines.apply([{"name": "daily", "partitioned": "daily", "steps": steps}])
    t0 = time.perf_counter()
    result = p.pipelines.backfill("daily", date(2000, 1, 1), date(2027, 5, 18))
    took = time.perf_counter() - t0
    assert result.partitions == 10_000
    return {"backfill_10000_partitions_s": round(took, 3)}


def run(name: str, url: str) -> dict[str, Any]:
    project = Path(tempfile.mkdtemp(prefix=f"bench-jobs-{name}-"))
    # JOB_EVENTS=0: workers publish no job.finished events (the cost of those events)
    events = os.environ.get("JOB_EVENTS") != "0"
    settings = {"catalog": {"url": url}, "jobs": {"events": events}}
    (project / "shipyard.yaml").write_text(json.dumps(settings))
    out: dict[str, Any] = {"backend": name}
    with Platform.open(project) as p:
        out |= bench_enqueue(p)
        out |= bench_throughput(p, project, 1)
        out |= bench_throughput(p, project, 2)
        out |= bench_latency(p, project)
        out |= bench_chain(p, project)
        out |= bench_backfill(p)
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
    results = []
    if "sqlite" in backends:
        results.append(run("sqlite", f"sqlite:///{tempfile.mkdtemp()}/catalog.db"))
    if "postgresql" in backends:
        url = fresh_pg(f"bench_jobs_{uuid.uuid4().hex[:8]}")
        if url is None:
            print("PostgreSQL not reachable: skipped", file=sys.stderr)
        else:
            results.append(run("postgresql", url))
    out = ROOT / "bench" / "results" / "pipelines.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    prefect = os.environ.get("PREFECT_PYTHON", "/tmp/prefect-venv/bin/python")
    if not Path(prefect).exists():
        print(f"no Prefect at {prefect}: comparison skipped", file=sys.stderr)
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from prefect_compare import compare

    vs = compare(prefect, int(os.environ.get("N_PREFECT", "30")))
    print(json.dumps(vs), flush=True)
    (out.parent / "prefect_compare.json").write_text(json.dumps(vs, indent=2) + "\n")


if __name__ == "__main__":
    main()
