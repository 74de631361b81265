"""Idle cost of a standalone ``shipyard worker`` and ``shipyard scheduler`` (no server).

A fresh SQLite project with one pipeline scheduled daily (so the scheduler has a cron
to look at); ``shipyard worker`` and ``shipyard scheduler`` are started as separate
processes, left ``WARMUP`` s to start, then their CPU (``/proc/<pid>/stat``, children
included) over ``IDLE`` s and their RSS (``VmRSS``, summed over the processes and their
children). Also ``shipyard worker --scheduler`` (both in one process) the same way.

Target (issue #13): idle scheduler + worker < 1 % CPU, < 150 MB.
Usage: ``python bench/idle_worker.py`` (``WARMUP``=8, ``IDLE``=60). Writes
``bench/results/idle_worker.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from shipyard.platform import Platform  # noqa: E402

WARMUP = float(os.environ.get("WARMUP", "8"))
IDLE = float(os.environ.get("IDLE", "60"))
TICK = os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """The process and its descendants."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(proc.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return total


def _rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def measure(project: Path, commands: list[list[str]]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SHIPYARD_PROJECT_DIR": str(project)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "shipyard", *cmd],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for cmd in commands
    ]
    try:
        time.sleep(WARMUP)
        pids = [p for proc in procs for p in _tree(proc.pid)]
        before = _cpu_seconds(pids)
        time.sleep(IDLE)
        cpu = 100 * (_cpu_seconds(pids) - before) / IDLE
        return {
            "commands": [" ".join(c) for c in commands],
            "processes": len(pids),
            "cpu_pct": round(cpu, 2),
            "rss_mb": round(_rss_mb(pids), 1),
        }
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)


def main() -> None:
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "shipyard.yaml").write_text("{}\n")
        step = {"name": "a", "after": [], "function": "shipyard.pipelines.builtin:noop"}
        with Platform.open(project) as p:
            p.pipelines.apply(
                [{"name": "daily", "schedule": {"cron": "0 3 * * *"}, "steps": [step]}]
            )
        results = [
            measure(project, [["worker"], ["scheduler"]]),
            measure(project, [["worker", "--scheduler"]]),
        ]
    out = {
        "idle_s": IDLE,
        "results": results,
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))
    dest = ROOT / "bench" / "results"
    dest.mkdir(exist_ok=True)
    (dest / "idle_worker.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
