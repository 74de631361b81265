"""What a filtered topic trigger costs a scheduler pass (ADR 0057).

Per metadata database (SQLite always, PostgreSQL when reachable), one pipeline with a
filtered trigger on a topic of lifecycle-like records (the ``table.committed`` fields):

1. idle: a pass with nothing new on the topic (the end offset only, as a plain trigger).
2. backlog: ``MAX_SCAN`` (10,000) new records, none matching: the pass reads them all
   and moves the cursor past them; the worst case of one pass per trigger.
3. early match: 10,000 new records, the first one matching: the pass fires one run.

Usage: ``python bench/topic_filters.py`` (``BENCH_BACKENDS``=sqlite,postgresql, ``N``=5
repetitions, the median is reported). Writes ``bench/results/topic_filters.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from pipelines import fresh_pg  # noqa: E402

from shipyard.pipelines.triggers import MAX_SCAN  # noqa: E402
from shipyard.platform import Platform  # noqa: E402

N = int(os.environ.get("N", "5"))
STEP = {"name": "a", "function": "shipyard.pipelines.builtin:noop", "executor": "inprocess"}


def _record(i: int, table: str) -> dict[str, Any]:
    return {
        "event": "table.committed",
        "at": "2026-12-06T08:00:00+00:00",
        "team": "ml",
        "principal": "etl",
        "asset": f"table:{table}@{i}",
        "table": table,
        "version": i,
        "operation": "write",
        "rows": 1000,
    }


def _median_ms(f: Callable[[], Any]) -> float:
    took = []
    for _ in range(N):
        t0 = time.perf_counter()
        f()
        took.append(time.perf_counter() - t0)
    return round(statistics.median(took) * 1000, 1)


def run(name: str, url: str) -> dict[str, Any]:
    project = Path(tempfile.mkdtemp(prefix=f"bench-topic-filters-{name}-"))
    (project / "shipyard.yaml").write_text(json.dumps({"catalog": {"url": url}}))
    out: dict[str, Any] = {"backend": name, "records_per_pass": MAX_SCAN}
    with Platform.open(project) as p:
        p.events.create_topic("commits")
        where = {"table": "gold.customer_daily", "operation": ["refresh", "write"]}
        trigger = {"topic": "commits", "where": where}
        p.pipelines.apply([{"name": "retrain", "steps": [STEP], "triggers": {"topics": [trigger]}}])
        s = p.pipelines.scheduler()
        s.tick()
        out["idle_pass_ms"] = _median_ms(s.tick)
        other = [_record(i, "gold.other") for i in range(MAX_SCAN)]

        def backlog() -> None:
            p.events.publish("commits", other)
            t0 = time.perf_counter()
            assert s.tick() == []
            took.append(time.perf_counter() - t0)

        took: list[float] = []
        for _ in range(N):
            backlog()
        out["backlog_pass_ms"] = round(statistics.median(took) * 1000, 1)
        took.clear()
        first = [_record(0, "gold.customer_daily"), *other[1:]]
        for _ in range(N):
            p.events.publish("commits", first)
            t0 = time.perf_counter()
            assert len(s.tick()) == 1
            took.append(time.perf_counter() - t0)
        out["early_match_pass_ms"] = round(statistics.median(took) * 1000, 1)
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    backends = os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",")
    results = []
    if "sqlite" in backends:
        results.append(run("sqlite", f"sqlite:///{tempfile.mkdtemp()}/catalog.db"))
    if "postgresql" in backends:
        url = fresh_pg(f"bench_topic_filters_{uuid.uuid4().hex[:8]}")
        if url is None:
            print("PostgreSQL not reachable: skipped", file=sys.stderr)
        else:
            results.append(run("postgresql", url))
    out = ROOT / "bench" / "results" / "topic_filters.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
