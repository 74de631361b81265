"""Canary ramps: steps by command and on a schedule, rollback on injected errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard import step_actions
from shipyard.errors import Conflict, PermissionDenied, ShipyardError
from shipyard.events.lifecycle import topic
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.canary import judge, split
from shipyard.serving.models import CanaryPolicy, CanaryState
from tests.unit.serving.conftest import Exploding, MemoryModels


@pytest.fixture
def deployed(served: Platform) -> Platform:
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    return served


def _weights(p: Platform) -> dict[str, int]:
    return {v.name: v.weight for v in p.serving.get_deployment("churn").variants}


def test_split_keeps_proportions_in_integers() -> None:
    assert split({"a": 70, "b": 30}, 75) == {"a": 52, "b": 23} or split({"a": 70, "b": 30}, 75) == {
        "a": 53,
        "b": 22,
    }
    assert sum(split({"a": 33, "b": 33, "c": 34}, 95).values()) == 95


def test_ramp_by_command_to_completion(deployed: Platform) -> None:
    dep = deployed.serving.start_canary("churn", Variant(name="c", model="churn/2"))
    assert dep.version == 2 and _weights(deployed) == {"a": 95, "c": 5}
    with pytest.raises(Conflict):
        deployed.serving.start_canary("churn", Variant(name="d", model="churn/2"))
    deployed.serving.advance_canary("churn")
    assert _weights(deployed) == {"a": 75, "c": 25}
    done = deployed.serving.advance_canary("churn")
    assert _weights(deployed) == {"a": 0, "c": 100}
    assert done.spec.canary is not None and done.spec.canary.status == "completed"
    assert {deployed.serving.predict("churn", [{"customer_id": i}]).variant for i in range(30)} == {
        "c"
    }
    with pytest.raises(Conflict):
        deployed.serving.advance_canary("churn")
    actions = [r.action for r in deployed.audit.list_records(asset="deployment:churn@4").items]
    assert "serving.advance_canary" in actions


def test_injected_errors_roll_the_canary_back(deployed: Platform, models: MemoryModels) -> None:
    v = models.add("churn", Exploding())
    deployed.catalog.register_asset(f"model:churn@{v}")
    deployed.serving.start_canary(
        "churn",
        Variant(name="bad", model=f"churn/{v}"),
        steps=[50, 100],
        interval_s=0.0,  # due at once: only the evidence can stop it
        min_requests=5,
        max_error_rate=0.2,
    )
    failures = _traffic(deployed, 60)
    assert failures >= 5
    assert deployed.serving.check_canaries() == ["churn: rollback (error rate 100.0% > 20.0%)"]
    dep = deployed.serving.get_deployment("churn")
    assert _weights(deployed) == {"a": 100}
    assert dep.spec.canary is not None and dep.spec.canary.status == "rolled_back"
    assert all(
        deployed.serving.predict("churn", [{"customer_id": i}]).variant == "a" for i in range(60)
    )
    records = deployed.audit.list_records(action="serving.rollback_canary").items
    assert records and records[0].principal == "local-admin"
    assert records[0].details["reason"] == "error rate 100.0% > 20.0%"


def _traffic(p: Platform, n: int) -> int:
    failures = 0
    for i in range(n):
        try:
            p.serving.predict("churn", [{"customer_id": i}])
        except ShipyardError:
            failures += 1
    return failures


def test_healthy_canary_advances_when_due_and_holds_before(deployed: Platform) -> None:
    dep = deployed.serving.start_canary(
        "churn", Variant(name="c", model="churn/2"), steps=[50, 100], interval_s=60, min_requests=5
    )
    assert dep.spec.canary is not None and dep.spec.canary.stepped_at is not None
    t0 = dep.spec.canary.stepped_at
    _traffic(deployed, 40)
    early = deployed.serving.check_canaries(now=t0 + timedelta(seconds=30))
    assert early[0].startswith("churn: hold (healthy") and _weights(deployed) == {"a": 50, "c": 50}
    late = deployed.serving.check_canaries(now=t0 + timedelta(seconds=61))
    assert late[0].startswith("churn: advance (healthy over") and _weights(deployed)["c"] == 100
    assert deployed.serving.check_canaries() == []  # completed: nothing left to do


def test_no_evidence_holds_the_ramp(deployed: Platform) -> None:
    deployed.serving.start_canary(
        "churn", Variant(name="c", model="churn/2"), steps=[10, 100], interval_s=0.0
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    assert deployed.serving.check_canaries(now=later) == [
        "churn: hold (0 of 20 requests since the step)"
    ]
    assert _weights(deployed) == {"a": 90, "c": 10}


def test_latency_over_the_bound_rolls_back() -> None:
    now = datetime.now(UTC)
    policy = CanaryPolicy(variant="c", max_p99_ms=50.0, min_requests=10, interval_s=0)
    state = CanaryState(policy=policy, stepped_at=now)
    assert judge(state, {"requests": 10, "errors": 0, "p99_ms": 80.0}, now) == (
        "rollback",
        "p99 80.0 ms > 50.0 ms",
    )
    assert judge(state, {"requests": 10, "errors": 0, "p99_ms": 20.0}, now)[0] == "advance"
    assert judge(state, None, now)[0] == "hold"


def test_the_scheduler_queues_one_check_per_period_and_a_worker_runs_it(
    deployed: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker process's platform for this project is this one (its models are in memory)
    monkeypatch.setitem(step_actions._ROOTS, str(deployed.context.settings.project_dir), deployed)
    deployed.serving.start_canary(
        "churn", Variant(name="c", model="churn/2"), steps=[10, 100], interval_s=0.0, min_requests=5
    )
    _traffic(deployed, 80)
    deployed.serving.flush_prediction_log()  # what a server process does every second
    sched = deployed.pipelines.scheduler()
    first = sched.queue_periodic()
    assert len(first) == 1
    later = datetime.now(UTC) + timedelta(seconds=30)  # a later period: one is still pending
    assert sched.queue_periodic(later) == []
    job = deployed.jobs.get(first[0])
    assert (job.kind, job.team, job.created_by) == ("canary", "default", "scheduler")
    Worker(deployed, poll_interval=0.005).run(max_jobs=1, idle_exit=0.3)
    done = deployed.jobs.get(first[0])
    assert done.error is None, done.error
    assert done.state == "succeeded" and str(done.result).startswith("advance (healthy")
    assert _weights(deployed) == {"a": 0, "c": 100}
    records = deployed.audit.list_records(action="serving.advance_canary").items
    assert records and records[0].principal == "serving-runtime"
    events = deployed.events.read_records(topic("default", "deployment.updated"), limit=100)
    assert events[-1].value["operation"] == "advance_canary"
    assert sched.queue_periodic(datetime.now(UTC) + timedelta(hours=1)) == []  # completed


def test_submitters_cannot_queue_the_canary_check(deployed: Platform) -> None:
    """It acts as serving-runtime: only the scheduler may queue it (like pipeline actions)."""
    project = str(deployed.context.settings.project_dir)
    with pytest.raises(PermissionDenied, match="not allowed"):
        deployed.jobs.submit(
            "shipyard.step_actions:check_canary", {"project": project, "deployment": "churn"}
        )
