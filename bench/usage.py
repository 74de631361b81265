"""Do the metered CPU-seconds add up to what the process accounting measured?

Runs ``--jobs`` CPU-bound jobs in a worker in this process (in-process executor) and
``--jobs`` in child processes (subprocess executor), then compares the sum of the
``usage_records`` each wrote with ``getrusage`` (``RUSAGE_SELF`` for the worker,
``RUSAGE_CHILDREN`` for the children) over the same run; then meters the hour and
times ``meter`` and ``report``.

Usage: ``python bench/usage.py [--jobs 20] [--cpu 0.2]`` (from the repository root).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.usage.tables import usage_records

ROOT = Path(__file__).resolve().parents[1]
FUNCS = "tests.contract.usage.funcs"


def _cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def _metered(p: Platform) -> float:
    with p.context.db.begin() as conn:
        total = conn.execute(sa.select(sa.func.sum(usage_records.c.cpu_seconds))).scalar_one()
        conn.execute(usage_records.update().values(ts=_last_hour() + timedelta(minutes=1)))
    return float(total or 0)


def _last_hour() -> datetime:
    return (datetime.now(UTC) - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)


def run(executor: str, jobs: int, cpu: float, p: Platform) -> dict[str, float]:
    before_rows = _metered(p)
    p.jobs.submit_many(
        [{"target": f"{FUNCS}:burn", "args": {"cpu_seconds": cpu}, "executor": executor}] * jobs
    )
    who = resource.RUSAGE_SELF if executor == "inprocess" else resource.RUSAGE_CHILDREN
    before = _cpu(who)
    Worker(p, pools=["default"]).run(max_jobs=jobs)
    measured = _cpu(who) - before
    metered = _metered(p) - before_rows
    return {
        "jobs": jobs,
        "metered_cpu_s": round(metered, 3),
        "process_cpu_s": round(measured, 3),
        "gap_pct": round(100 * (metered - measured) / measured, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--cpu", type=float, default=0.2)
    args = ap.parse_args()
    os.environ["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    sys.path.insert(0, str(ROOT))
    with (
        tempfile.TemporaryDirectory() as tmp,
        Platform.open(Path(tmp), jobs={"modules": [FUNCS]}) as p,
    ):
        print(f"in-process jobs: {run('inprocess', args.jobs, args.cpu, p)}")
        print(f"subprocess jobs: {run('subprocess', args.jobs, args.cpu, p)}")
        started = time.perf_counter()
        out = p.usage.meter()
        metered = time.perf_counter() - started
        started = time.perf_counter()
        rep = p.usage.report(by="kind", month=out.hour.strftime("%Y-%m"))
        reported = time.perf_counter() - started
        print(f"meter: {out.rows} rows in {metered:.2f} s; report in {reported * 1000:.0f} ms")
        for line in rep.lines:
            print(f"  {line.key}: {line.cpu_seconds:.2f} CPU-s")


if __name__ == "__main__":
    main()
