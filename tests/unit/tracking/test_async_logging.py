from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from shipyard.errors import Conflict, NotFound
from shipyard.platform import Platform
from shipyard.tracking.buffer import MetricBuffer
from shipyard.tracking.models import Metric


def test_log_metric_is_queued_and_flushed_on_end(platform: Platform) -> None:
    with platform.tracking.start_run(experiment="e") as run:
        for i in range(500):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
    history = platform.tracking.get_metric_history(run.id, "loss")
    assert len(history) == 500 and history[-1].step == 499


def test_buffer_batches_and_reports_errors() -> None:
    calls: list[tuple[str, int]] = []
    gate = threading.Event()

    def sink(run_id: str, items: list[Metric]) -> None:
        gate.wait(5)
        if run_id == "bad":
            raise NotFound("no run 'bad'")
        calls.append((run_id, len(items)))

    buf = MetricBuffer(sink, interval=0.05)
    for i in range(100):
        buf.add("r1", Metric(key="m", value=float(i), step=i, timestamp=1))
    buf.add("bad", Metric(key="m", value=1.0, step=0, timestamp=1))
    gate.set()
    with pytest.raises(NotFound):
        buf.flush()
    assert sum(n for _, n in calls) == 100
    assert len(calls) < 100  # written in batches, not one call per metric
    buf.flush()  # the error was reported once
    buf.close()


def test_ended_run_refuses_queued_metrics(platform: Platform) -> None:
    run = platform.tracking.start_run(experiment="e")
    run.end()
    with pytest.raises(Conflict):
        run.log_metric("x", 1.0)


def test_metrics_survive_normal_process_exit(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from shipyard.platform import Platform
        p = Platform.open({str(tmp_path)!r})
        run = p.tracking.start_run(experiment="e", capture_source=False)
        for i in range(300):
            run.log_metric("m", float(i), step=i)
        print(run.id)
        # no end(), no close(): the atexit flush must write everything
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    run_id = out.stdout.strip().splitlines()[-1]
    with Platform.open(tmp_path) as p:
        assert len(p.tracking.get_metric_history(run_id, "m")) == 300
