"""Per-team CPU and GPU quotas of training jobs (ADR 0047): a job past its team's
``cpus`` cap waits for the team's older jobs, one larger than the cap is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import QuotaExceeded
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.training.models import Resources
from shipyard.training.resources import Cap, wait_for

F = "tests.unit.training.funcs"
BIG = Resources(cpus=16, memory_mb=None, gpus=0)


@pytest.fixture
def p(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """A platform whose machine has room for every job here (16 CPUs), so only the
    quotas make a job wait; quotas are read afresh on every check."""
    monkeypatch.setattr("shipyard.training.service.local_capacity", lambda: BIG)
    monkeypatch.setattr("shipyard.training_jobs.local_capacity", lambda: BIG)
    with Platform.open(project_dir, quotas={"cache_seconds": 0}) as platform:
        yield platform


def _workers(p: Platform, n: int) -> None:
    threads = [
        threading.Thread(
            target=Worker(p, pools=["training"], poll_interval=0.005).run,
            kwargs={"idle_exit": 0.5},
        )
        for _ in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)


def test_a_teams_second_job_waits_for_its_cpus_and_another_team_does_not(p: Platform) -> None:
    p.quotas.set_quota("team", "a", "cpus", 2)
    p.quotas.set_quota("team", "b", "cpus", 2)
    two = {"cpus": 2}
    # the first job runs long enough that, even on a loaded machine, the second one is
    # claimed while it runs and must wait for team a's quota (not for a free worker)
    first = p.training.submit(
        f"{F}:stamp", resources=two, team="a", backend="inprocess", params={"seconds": 1.5}
    )
    second = p.training.submit(f"{F}:stamp", resources=two, team="a", backend="inprocess")
    other = p.training.submit(f"{F}:stamp", resources=two, team="b", backend="inprocess")
    _workers(p, 3)  # one worker each: only the quota can make one wait
    a1, a2, b1 = (p.training.get(j.id) for j in (first, second, other))
    assert [j.state for j in (a1, a2, b1)] == ["succeeded"] * 3, (a1.error, a2.error, b1.error)
    assert a2.metrics["t0"] >= a1.metrics["t1"]  # team a never held more than 2 CPUs
    assert b1.metrics["t0"] < a1.metrics["t1"]  # team b ran beside team a's first job
    assert float(p.tracking.get_run(a2.run_id).tags["shipyard.training.waited_seconds"]) > 0


def test_a_request_larger_than_the_whole_quota_is_refused_at_submit(p: Platform) -> None:
    p.quotas.set_quota("team", "a", "cpus", 2)
    p.quotas.set_quota("team", "a", "gpus", 0)
    with pytest.raises(QuotaExceeded) as refused:
        p.training.submit(f"{F}:stamp", resources={"cpus": 4}, team="a", backend="inprocess")
    assert refused.value.message.startswith(
        "quota exceeded: the job asks for 4 cpus but the cpus quota of team 'a' is 2"
    )
    assert refused.value.details["limit"] == 2 and "retry_after" not in refused.value.details
    # Ray jobs are checked too (no GPU here is the cluster's concern, the quota is ours)
    with pytest.raises(QuotaExceeded, match="gpus quota of team 'a' is 0"):
        p.training.submit(f"{F}:stamp", resources={"gpus": 1}, team="a", backend="ray")
    # Ray Train workers each hold the request: 2 workers x 1.5 CPUs > 2
    with pytest.raises(QuotaExceeded, match="asks for 3 cpus"):
        p.training.submit(
            f"{F}:stamp", resources={"cpus": 1.5, "workers": 2}, team="a", backend="ray"
        )
    home = p.context.default_team  # a search's team: its experiment's owner
    p.quotas.set_quota("team", home, "cpus", 0)  # no search worker could ever run
    with pytest.raises(QuotaExceeded, match=f"cpus quota of team '{home}' is 0"):
        p.training.tune(
            f"{F}:quadratic", {"x": {"type": "float", "low": -1, "high": 1}},
            metric="loss", workers=1, backend="jobs",
        )  # fmt: skip
    assert p.training.list().items == []  # nothing queued
    assert p.training.submit(f"{F}:stamp", resources={"cpus": 4}, team="b").state == "queued"
    records = p.audit.list_records(action="quotas.refused").items
    assert records and records[0].details["resource"] in ("cpus", "gpus")


def test_a_job_whose_worker_died_releases_its_cpus_when_its_lease_expires(p: Platform) -> None:
    p.quotas.set_quota("team", "a", "cpus", 2)
    two = {"cpus": 2}
    lost = p.training.submit(f"{F}:stamp", resources=two, team="a", backend="inprocess")
    [claimed] = p.jobs.queue.claim("dead-worker", ["training"], lease_seconds=0.8)
    assert claimed.id == lost.id  # a worker took it, then died without a heartbeat
    [held] = p.quotas.list_quotas(subject="a", with_usage=True).items
    assert held.used == 2.0
    job = p.training.submit(f"{F}:stamp", resources=two, team="a", backend="inprocess")
    _workers(p, 1)
    done = p.training.get(job.id)
    assert done.state == "succeeded", done.error
    assert claimed.lease_until is not None
    assert done.metrics["t0"] >= claimed.lease_until.timestamp()  # waited for the lease
    assert p.quotas.list_quotas(subject="a", with_usage=True).items[0].used == 0.0


def test_wait_for_counts_only_older_jobs_under_the_same_cap() -> None:
    machine = Resources(cpus=64)
    team = [[Resources(cpus=2)], [Resources(cpus=1)], []]
    cap = Cap("team 'a'", cpus=2, gpus=None, held=lambda: team.pop(0) if team else [])
    waited = wait_for(Resources(cpus=2), machine, lambda: [], timeout=5, poll=0.01, caps=[cap])
    assert waited > 0 and team == []
    full = Cap("team 'a'", cpus=4, gpus=0, held=lambda: [Resources(cpus=1, gpus=0)])
    with pytest.raises(TimeoutError, match="under the team 'a' quota"):
        wait_for(
            Resources(cpus=1, gpus=1), machine, lambda: [], timeout=0.05, poll=0.01, caps=[full]
        )
    started = time.monotonic()  # alone under its cap, a job always runs
    alone = Cap("team 'a'", cpus=1, gpus=None, held=lambda: [])
    assert wait_for(Resources(cpus=2), machine, lambda: [], timeout=0, caps=[alone]) < 0.01
    assert time.monotonic() - started < 0.5
