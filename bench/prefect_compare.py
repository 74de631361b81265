"""A 3-step chain of no-op steps, Shipyard against Prefect 3, same run, same machine
(#13: "a 3-step chain of no-op steps >= 20x faster end to end than Prefect's").

Prefect is NOT a Shipyard dependency: it lives in its own virtualenv (``--prefect-python``,
default ``/tmp/prefect-venv/bin/python``; made with ``python -m venv /tmp/prefect-venv &&
/tmp/prefect-venv/bin/pip install "prefect==3.*"``, 3.9.1 when measured). Each side runs
in a fresh process on a fresh SQLite database, embedded, with no network:

- Prefect: a ``@flow`` calling three ``@task`` no-ops, each taking the previous one's
  result, run ``--runs`` times one after the other against Prefect's ephemeral local
  server (``PREFECT_SERVER_ALLOW_EPHEMERAL_MODE``, a fresh ``PREFECT_HOME``, telemetry
  and analytics off). End to end = the flow call; handoff = a task's body starting
  minus its upstream's body ending.
- Shipyard: ``p.pipelines.run`` of a 3-step pipeline of ``builtin:noop`` steps, run by an
  embedded worker thread (what ``shipyard serve`` runs); end to end = the ``run`` call
  until the caller, polling ``get_run`` every 1 ms, sees the run succeeded (and, from the
  records, the run created to its last step finished, without the caller's poll); handoff = a
  step's ``started_at`` minus its upstream's ``finished_at`` (the job records).

The first ``--warmup`` runs of each side (Prefect starts its server on the first) are
not counted.

Usage: ``python bench/prefect_compare.py [--runs 50]``; ``bench/pipelines.py`` runs it
too when the Prefect interpreter exists. Writes ``bench/results/prefect_compare.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

PREFECT_SIDE = r"""
import json, statistics, sys, time
from prefect import flow, task

@task
def a():
    t = time.perf_counter(); return (t, time.perf_counter())

@task
def b(up):
    t = time.perf_counter(); return up + (t, time.perf_counter())

@task
def c(up):
    t = time.perf_counter(); return up + (t, time.perf_counter())

@flow
def chain():
    return c(b(a()))

runs, warmup = int(sys.argv[1]), int(sys.argv[2])
ends, handoffs = [], []
for i in range(runs + warmup):
    t0 = time.perf_counter()
    s = chain()
    took = time.perf_counter() - t0
    if i >= warmup:
        ends.append(took * 1000)
        handoffs += [(s[2] - s[1]) * 1000, (s[4] - s[3]) * 1000]
print(json.dumps({"end_to_end_ms": ends, "handoff_ms": handoffs}))
"""

SHIPYARD_SIDE = r"""
import json, sys, time
from pathlib import Path
from shipyard._internal.clock import as_utc
from shipyard.pipelines.embedded import EmbeddedWorkers
from shipyard.pipelines.runs import RunState
from shipyard.platform import Platform

project, runs, warmup = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
(project / "shipyard.yaml").write_text("jobs: {embedded: false}\n")
noop = "shipyard.pipelines.builtin:noop"
steps = [{"name": "a", "after": [], "function": noop},
         {"name": "b", "after": ["a"], "function": noop},
         {"name": "c", "after": ["b"], "function": noop}]
ends, handoffs, recorded = [], [], []
with Platform.open(project) as p, EmbeddedWorkers(p, scheduler=False):
    p.pipelines.apply([{"name": "chain", "steps": steps}])
    for i in range(runs + warmup):
        t0 = time.perf_counter()
        run = p.pipelines.run("chain")
        while (done := p.pipelines.get_run(run.id)).state == RunState.RUNNING:
            time.sleep(0.001)
        took = time.perf_counter() - t0
        assert done.state == RunState.SUCCEEDED, done.state
        if i < warmup:
            continue
        ends.append(took * 1000)
        a, b, c = (p.jobs.get(done.steps[s]["job"]) for s in "abc")
        handoffs += [(b.started_at - a.finished_at).total_seconds() * 1000,
                     (c.started_at - b.finished_at).total_seconds() * 1000]
        recorded.append((as_utc(c.finished_at) - done.created_at).total_seconds() * 1000)
print(json.dumps({"end_to_end_ms": ends, "handoff_ms": handoffs, "recorded_ms": recorded}))
"""


def prefect_env(home: Path) -> dict[str, str]:
    """Prefect embedded and offline: ephemeral local server on SQLite, nothing sent out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_TO_API_ENABLED": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "PREFECT_API_URL": "",
        "DO_NOT_TRACK": "1",
    }


def _side(cmd: list[str], env: dict[str, str]) -> dict[str, list[float]]:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1)


def _summary(raw: dict[str, list[float]]) -> dict[str, float]:
    ends, hand = raw["end_to_end_ms"], raw["handoff_ms"]
    return {
        "end_to_end_ms_p50": _pct(ends, 0.5),
        "end_to_end_ms_p95": _pct(ends, 0.95),
        "end_to_end_ms_mean": round(sum(ends) / len(ends), 1),
        "handoff_ms_p50": _pct(hand, 0.5),
        "handoff_ms_p95": _pct(hand, 0.95),
        "runs": len(ends),
    } | (
        {"recorded_end_to_end_ms_p50": _pct(raw["recorded_ms"], 0.5)}
        if "recorded_ms" in raw
        else {}
    )


def compare(prefect_python: str, runs: int = 50, warmup: int = 2) -> dict[str, Any]:
    """Both sides, Shipyard first, then Prefect; the ratios are Prefect over Shipyard."""
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        ours_dir, home = Path(tmp) / "shipyard", Path(tmp) / "prefect-home"
        ours_dir.mkdir()
        home.mkdir()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        ours = _summary(
            _side([sys.executable, "-c", SHIPYARD_SIDE, str(ours_dir), str(runs), str(warmup)], env)
        )
        theirs = _summary(
            _side([prefect_python, "-c", PREFECT_SIDE, str(runs), str(warmup)], prefect_env(home))
        )
    version = subprocess.run(
        [prefect_python, "-c", "import prefect; print(prefect.__version__)"],
        capture_output=True,
        text=True,
        env=prefect_env(Path(tempfile.gettempdir())),
    ).stdout.strip()
    return {
        "prefect_version": version,
        "shipyard": ours,
        "prefect": theirs,
        "end_to_end_speedup_p50": round(theirs["end_to_end_ms_p50"] / ours["end_to_end_ms_p50"], 1),
        "end_to_end_speedup_mean": round(
            theirs["end_to_end_ms_mean"] / ours["end_to_end_ms_mean"], 1
        ),
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--prefect-python", default="/tmp/prefect-venv/bin/python")
    args = ap.parse_args()
    out = compare(args.prefect_python, args.runs, args.warmup)
    print(json.dumps(out, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "prefect_compare.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
