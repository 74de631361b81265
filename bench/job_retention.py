"""Job history retention (ADR 0056): how long pruning 100,000 old job rows takes, and how
long it holds the write lock.

Seeds the ``jobs`` table with ``--old`` rows past retention (half succeeded platform
periodic jobs two days old, the rest of them finished jobs of 40 days, a tenth of those
as the step jobs of 5-step pipeline runs) and ``--keep`` rows it must keep (recent,
queued, running, recent failed periodic), then times:

1. **dry run**: the counts (``shipyard jobs prune --dry-run``);
2. **prune**: ``JobService.prune()`` (total s, rows/s), the longest write transaction it
   held (the lock a concurrent writer waits on), and the slowest enqueue of a writer
   thread that queues one job every 20 ms meanwhile.

On the embedded SQLite catalog and, with ``--pg URL``, on PostgreSQL (an empty database).

Usage: ``python bench/job_retention.py [--old 100000] [--keep 20000] [--pg URL]``.
Writes ``bench/results/job_retention.json``; print the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard.pipelines.models import Executor, JobSpec
from shipyard.pipelines.tables import jobs, pipeline_runs
from shipyard.platform import Platform

STEPS_PER_RUN = 5


def _job(state: str, age: timedelta | None, kind: str, run: tuple[str, str] | None) -> dict:
    now = utcnow()
    finished = None if age is None else now - age
    return {
        "id": new_id(),
        "kind": kind,
        "target": "shipyard.pipelines.builtin:echo",
        "args": {},
        "state": state,
        "priority": 0,
        "pool": "default",
        "team": "default",
        "executor": "inprocess",
        "attempts": 1,
        "max_attempts": 1,
        "timeout_seconds": None,
        "memory_mb": None,
        "retry_delay": 1.0,
        "idempotency_key": None,
        "run_after": now - (age or timedelta(0)),
        "lease_until": None,
        "worker_id": None,
        "error": None,
        "result": {"ok": True},
        "logs": "INFO step: did its work\n" * 4,
        "created_by": "bench",
        "created_at": now - (age or timedelta(0)) - timedelta(seconds=1),
        "started_at": None,
        "finished_at": finished,
        "run_id": run[0] if run else None,
        "step": run[1] if run else None,
    }


def seed(p: Platform, old: int, keep: int) -> dict[str, int]:
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    periodic = old // 2
    step_jobs = (old // 10) // STEPS_PER_RUN * STEPS_PER_RUN
    plain = old - periodic - step_jobs
    kinds = ("canary", "inference_log", "slo")
    for i in range(periodic):
        rows.append(_job("succeeded", timedelta(days=2, seconds=i), kinds[i % 3], None))
    for i in range(plain):
        rows.append(_job(("succeeded", "failed")[i % 2], timedelta(days=40, seconds=i), "fn", None))
    for r in range(step_jobs // STEPS_PER_RUN):
        run_id = new_id()
        steps = {}
        for s in range(STEPS_PER_RUN):
            row = _job("succeeded", timedelta(days=40, seconds=r), "function", (run_id, f"s{s}"))
            steps[f"s{s}"] = {"state": "succeeded", "job": row["id"]}
            rows.append(row)
        at = utcnow() - timedelta(days=40, seconds=r)
        runs.append(
            {
                "id": run_id,
                "pipeline": "bench",
                "pipeline_version": 1,
                "team": "default",
                "state": "succeeded",
                "trigger": "schedule",
                "trigger_key": None,
                "partition": None,
                "backfill_id": None,
                "spec": {},
                "steps": steps,
                "error": None,
                "created_by": "bench",
                "created_at": at - timedelta(minutes=1),
                "finished_at": at,
            }
        )
    for i in range(keep):
        state, age, kind = [
            ("succeeded", timedelta(hours=1), "canary"),
            ("failed", timedelta(days=2), "canary"),
            ("succeeded", timedelta(days=2), "function"),
            ("queued", None, "function"),
        ][i % 4]
        rows.append(_job(state, age, kind, None))
    with p.context.db.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(jobs.insert(), rows[i : i + 5000])
        for i in range(0, len(runs), 2000):
            conn.execute(pipeline_runs.insert(), runs[i : i + 2000])
    return {"old": old, "runs": len(runs), "step_jobs": step_jobs, "keep": keep}


class LockWatch:
    """The longest transaction of the engine (begin to commit), in seconds."""

    def __init__(self, engine: sa.Engine) -> None:
        self.longest = 0.0
        self.count = 0
        self._open: dict[int, float] = {}
        sa.event.listen(engine, "begin", self._begin)
        sa.event.listen(engine, "commit", self._commit)

    def _begin(self, conn: Any) -> None:
        self._open[id(conn)] = time.perf_counter()

    def _commit(self, conn: Any) -> None:
        started = self._open.pop(id(conn), None)
        if started is not None:
            self.longest = max(self.longest, time.perf_counter() - started)
            self.count += 1


def run(url: str, old: int, keep: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shipyard.yaml").write_text(json.dumps({"catalog": {"url": url}}))
        with Platform.open(Path(tmp)) as p:
            t = time.perf_counter()
            seeded = seed(p, old, keep)
            seeded["seed_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            dry = p.jobs.prune(dry_run=True)
            dry_s = time.perf_counter() - t
            stop = threading.Event()
            waits: list[float] = []

            def writer() -> None:  # a concurrent producer: its slowest enqueue
                spec = JobSpec(
                    target="shipyard.pipelines.builtin:echo", executor=Executor.INPROCESS
                )
                while not stop.is_set():
                    t0 = time.perf_counter()
                    p.jobs.queue.enqueue(spec, team="default", created_by="bench")
                    waits.append(time.perf_counter() - t0)
                    stop.wait(0.02)

            watch = LockWatch(p.context.db.engine)
            thread = threading.Thread(target=writer)
            thread.start()
            t = time.perf_counter()
            out = p.jobs.prune()
            took = time.perf_counter() - t
            stop.set()
            thread.join()
            with p.context.db.connect() as conn:
                left = conn.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one()
    deleted = out.jobs + out.step_jobs
    waits.sort()
    return {
        **seeded,
        "dry_run_s": round(dry_s, 3),
        "dry_run_counts": [dry.jobs, dry.runs, dry.step_jobs],
        "deleted_jobs": deleted,
        "deleted_runs": out.runs,
        "prune_s": round(took, 2),
        "rows_per_s": round(deleted / took),
        "transactions": watch.count,
        "longest_transaction_ms": round(watch.longest * 1000, 1),
        "concurrent_enqueues": len(waits),
        "enqueue_p50_ms": round(waits[len(waits) // 2] * 1000, 1) if waits else None,
        "enqueue_max_ms": round(waits[-1] * 1000, 1) if waits else None,
        "jobs_left": left,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", type=int, default=100_000, help="job rows past retention")
    ap.add_argument("--keep", type=int, default=20_000, help="job rows to keep")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL (an empty database)")
    args = ap.parse_args()
    out: dict[str, Any] = {"load_avg": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = run(f"sqlite:///{tmp}/catalog.db", args.old, args.keep)
    print("sqlite", json.dumps(out["sqlite"]), flush=True)
    if args.pg:
        out["postgresql"] = run(args.pg, args.old, args.keep)
        print("postgresql", json.dumps(out["postgresql"]), flush=True)
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "job_retention.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
