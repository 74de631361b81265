"""The embedded worker and scheduler that ``shipyard serve`` runs on its threads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from shipyard.pipelines.embedded import EmbeddedWorkers
from shipyard.pipelines.models import JobState
from shipyard.platform import Platform

ECHO = "shipyard.pipelines.builtin:echo"
SLEEP = "shipyard.pipelines.builtin:sleep"


def _until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_serve_runs_jobs_by_default(pp: Platform) -> None:
    assert pp.settings.jobs.embedded and pp.settings.jobs.embedded_workers == 1
    job = pp.jobs.submit(ECHO, {"x": 1}, executor="inprocess")
    with EmbeddedWorkers(pp) as embedded:
        assert embedded.running and embedded.scheduler is not None
        _until(lambda: pp.jobs.get(job.id).state == JobState.SUCCEEDED)
    assert not embedded.running
    assert pp.jobs.get(job.id).result == {"x": 1}


def test_leaving_drains_the_jobs_held_and_claims_no_more(pp: Platform) -> None:
    held = pp.jobs.submit(SLEEP, {"seconds": 0.4}, executor="inprocess", priority=1)
    embedded = EmbeddedWorkers(pp, scheduler=False).start()
    _until(lambda: pp.jobs.get(held.id).state == JobState.RUNNING)
    later = pp.jobs.submit(ECHO, {}, executor="inprocess")
    assert embedded.stop(timeout=5)
    assert pp.jobs.get(held.id).state == JobState.SUCCEEDED  # finished, not abandoned
    assert pp.jobs.get(later.id).state == JobState.QUEUED  # left for the next worker


def test_it_can_be_turned_off(tmp_path: Path) -> None:
    (tmp_path / "shipyard.yaml").write_text("jobs: {embedded: false, embedded_workers: 2}\n")
    with Platform.open(tmp_path) as p:
        assert p.settings.jobs.embedded is False and p.settings.jobs.embedded_workers == 2
