"""The handoff without polling: a draining worker claims nothing with its completion, and
an idle worker wakes when its own process queues a job. (The dependent step claimed in
the transaction that records its upstream is in the runs contract, SQLite and PostgreSQL.)"""

from __future__ import annotations

import threading
import time

from shipyard.pipelines.models import JobState
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS


def _chain(pp: Platform) -> None:
    steps = [
        {"name": "a", "function": f"{STEPS}:emit", "after": []},
        {"name": "b", "function": f"{STEPS}:add", "after": ["a"]},
    ]
    pp.pipelines.apply([{"name": "p", "steps": steps}])


def test_a_draining_worker_claims_nothing_with_its_completion(pp: Platform) -> None:
    _chain(pp)
    run = pp.pipelines.run("p")
    worker = pp.worker()
    [a] = pp.jobs.queue.claim(worker.worker_id, ["default"])
    worker.drain()
    worker.run_batch([a])
    b = pp.jobs.get(pp.pipelines.get_run(run.id).steps["b"]["job"])
    assert b.state == JobState.QUEUED and b.worker_id is None  # left for another worker


def test_an_idle_worker_wakes_when_this_process_queues_a_job(pp: Platform) -> None:
    # polls every 5 s at most: only the wake-up can start the job within the bound below
    worker = pp.worker(poll_interval=5.0, idle_poll_interval=5.0)
    thread = threading.Thread(target=worker.run, kwargs={"idle_exit": 30.0}, daemon=True)
    thread.start()
    try:
        time.sleep(2.2)  # idle: its wait has doubled to ~2 s (1 ms, 2 ms, ... 2,048 ms)
        job = pp.jobs.submit(f"{STEPS}:emit", executor="inprocess")
        t0 = time.monotonic()
        while pp.jobs.get(job.id).state != JobState.SUCCEEDED and time.monotonic() - t0 < 5:
            time.sleep(0.005)
        took = time.monotonic() - t0
    finally:
        worker.drain()
        thread.join(timeout=10)
    assert pp.jobs.get(job.id).state == JobState.SUCCEEDED
    assert took < 1.0, f"the job waited {took:.2f} s for the worker's poll"
    assert not thread.is_alive()  # a drain wakes the waiting worker too
