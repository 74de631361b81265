"""The scheduled prune: the scheduler queues one ``jobs_prune`` job an hour, a worker runs it
as the retention principal, and the periodic kinds come from the platform's sources."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from shipyard import step_actions
from shipyard._internal.clock import utcnow
from shipyard.pipelines import retention
from shipyard.pipelines.models import JobState
from shipyard.pipelines.tables import jobs
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS, drain


def _kinds(pp: Platform) -> dict[str, str]:
    with pp.context.db.connect() as conn:
        return {r.id: r.kind for r in conn.execute(sa.select(jobs.c.id, jobs.c.kind))}


def test_the_periodic_kinds_are_the_sources_kinds(pp: Platform) -> None:
    assert pp.pipelines.periodic_kinds == (
        "canary",
        "inference_log",
        "jobs_prune",
        "materialize",
        "slo",
    )


def _aged(pp: Platform, days: float) -> str:
    job = pp.jobs.submit(f"{STEPS}:emit", executor="inprocess")
    with pp.context.db.begin() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job.id)
            .values(state="succeeded", finished_at=utcnow() - timedelta(days=days))
        )
    return job.id


def test_the_scheduler_queues_one_prune_an_hour_and_a_worker_prunes(pp: Platform) -> None:
    s = pp.pipelines.scheduler()
    now = utcnow().replace(minute=10, second=0, microsecond=0)  # mid-hour: one period
    assert s.queue_periodic(now - timedelta(hours=1)) == []  # nothing past retention
    old = _aged(pp, 31)
    queued = s.queue_periodic(now)
    assert [_kinds(pp)[j] for j in queued] == [retention.KIND]
    assert s.queue_periodic(now + timedelta(seconds=5)) == []  # same hour: none
    try:
        drain(pp)
    finally:
        step_actions.release(str(pp.context.settings.project_dir))
    assert old not in _kinds(pp)
    done = pp.jobs.get(queued[0])
    assert done.state == JobState.SUCCEEDED and done.result is not None
    assert done.result["jobs"] == 1
    records = pp.audit.list_records(action="jobs.prune").items
    assert [(r.principal, r.outcome) for r in records] == [("retention", "ok")]
    assert s.queue_periodic(now + timedelta(hours=1)) == []  # pruned: nothing to do
    _aged(pp, 2)  # a day of retention passed for a job of 2 days: past the 24 h cutoff
    later = s.queue_periodic(now + timedelta(hours=2))  # the next hour with work: a prune
    assert [_kinds(pp)[j] for j in later] == [retention.KIND]


def test_no_prune_job_when_retention_is_off(tmp_path: Path) -> None:
    settings = {"jobs": {"retention_days": 0, "periodic_retention_hours": 0, "modules": [STEPS]}}
    (tmp_path / "shipyard.yaml").write_text(json.dumps(settings))
    with Platform.open(tmp_path) as p:
        _aged(p, 400)
        assert p.pipelines.scheduler().queue_periodic(utcnow()) == []
