"""Scheduled SLO evaluations: one job per deployment with SLOs per period, queued by the
scheduler only, run by a worker as the monitoring principal (opens the incident)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard import step_actions
from shipyard.errors import PermissionDenied
from shipyard.monitoring.slo_jobs import slo_checks
from shipyard.platform import Platform
from tests.unit.monitoring.test_slo import _log


def test_the_scheduler_queues_one_evaluation_per_period_and_a_worker_runs_it(
    monitored: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = monitored
    project = str(p.context.settings.project_dir)
    monkeypatch.setitem(step_actions._ROOTS, project, p)
    sched = p.pipelines.scheduler()
    now = datetime.now(UTC)
    assert sched.queue_periodic(now) == []  # no SLO anywhere: nothing to evaluate

    p.monitoring.put_slo("churn", "avail", kind="availability", objective=0.99)
    _log(p, now, 300, 3600, bad_every=2)  # half of the last hour failed: burning
    later = now + timedelta(seconds=61)  # the next period (the source looked at ``now``'s)
    first = sched.queue_periodic(later)
    assert len(first) == 1
    job = p.jobs.get(first[0])
    assert (job.kind, job.team, job.created_by) == ("slo", "default", "scheduler")
    assert job.idempotency_key is not None and job.idempotency_key.startswith("slo:churn@")
    # a later period while the first still waits: not queued twice
    assert sched.queue_periodic(later + timedelta(seconds=60)) == []
    # a second scheduler on the same period: not queued twice
    assert p.pipelines.scheduler().queue_periodic(later) == []

    p.worker(poll_interval=0.005).run(max_jobs=1, idle_exit=0.3)
    done = p.jobs.get(first[0])
    assert done.error is None, done.error
    assert done.state == "succeeded"
    [status] = done.result
    assert status["slo"] == "avail" and status["status"] == "burning" and status["incident"]
    [incident] = p.monitoring.list_incidents("churn")
    assert incident.state == "open" and incident.id == status["incident"]
    records = p.audit.list_records(action="monitoring.evaluate_slos").items
    assert records and records[0].principal == "monitoring"
    # done: the next period queues the next evaluation
    assert len(sched.queue_periodic(later + timedelta(seconds=120))) == 1
    # the period is the key; 0 seconds switches the source off
    t = datetime(2026, 12, 1, tzinfo=UTC)
    [spec] = slo_checks(p.context, 30.0)(t)
    assert spec.idempotency_key == f"slo:churn@{int(t.timestamp() // 30)}"
    assert slo_checks(p.context, 0.0)(t) == []


def test_submitters_cannot_queue_the_slo_evaluation(platform: Platform) -> None:
    """It acts as the monitoring principal: only the scheduler may queue it."""
    project = str(platform.context.settings.project_dir)
    platform.security.create_principal("eve", role="editor", team="default")
    eve = platform.as_principal(platform.security.get_principal("eve"))
    for who in (platform, eve):
        with pytest.raises(PermissionDenied, match="not allowed"):
            who.jobs.submit(
                "shipyard.step_actions:evaluate_slos", {"project": project, "deployment": "churn"}
            )
