"""Platform lifecycle events: one test per event kind, their topics' owners, and triggers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shipyard.errors import NotFound, PermissionDenied
from shipyard.events.lifecycle import SCHEMAS, topic
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.security.store import load_principal
from shipyard.serving import Variant
from tests.contract.serving.suite import build_served_model

ENVELOPE = {"event", "at", "team", "principal", "asset"}


@pytest.fixture(scope="module")
def p(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    project: Path = tmp_path_factory.mktemp("lifecycle")
    platform = Platform.open(project)
    build_served_model(platform)  # writes, materializes, tracks, registers, sets @live
    yield platform
    platform.close()


def _events(p: Platform, event: str, team: str = "default") -> list[dict[str, Any]]:
    try:
        records = p.events.read_records(topic(team, event), limit=1000)
    except NotFound:
        return []
    values = [r.value for r in records]
    for v in values:  # every record has the envelope and its kind's fields, nothing else
        assert set(v) == ENVELOPE | set(SCHEMAS[event]), v
        assert v["event"] == event and v["team"] == team
    return values


def _as(p: Platform, name: str) -> Platform:
    with p.context.db.connect() as conn:
        who = load_principal(conn, name)
    assert who is not None
    return p.as_principal(who)


def test_table_committed(p: Platform) -> None:
    before = len(_events(p, "table.committed"))
    info = p.lake.write("bronze.ev", pa.table({"x": [1, 2]}), batch_id="b1")
    p.lake.write("bronze.ev", pa.table({"x": [1, 2]}), batch_id="b1", mode="append")  # no-op
    new = _events(p, "table.committed")[before:]
    assert [(e["table"], e["version"], e["rows"]) for e in new] == [("bronze.ev", info.version, 2)]
    assert new[0]["operation"] == "write" and new[0]["principal"] == "local-admin"


def test_features_materialized(p: Platform) -> None:
    (event,) = _events(p, "features.materialized")[:1]
    assert event["view"] == "customer_features" and event["rows"] > 0


def test_run_finished(p: Platform) -> None:
    before = len(_events(p, "run.finished"))
    with p.tracking.start_run(experiment="ev") as run:
        run.log_metric("m", 1.0)
    (event,) = _events(p, "run.finished")[before:]
    assert event["run_id"] == run.id and event["status"] == "FINISHED"


def test_model_version_created(p: Platform) -> None:
    events = _events(p, "model.version_created")
    assert [(e["name"], e["version"]) for e in events[:2]] == [("churn", 1), ("churn", 2)]
    assert events[0]["run_id"] and events[0]["source"].startswith("runs:/")


def test_alias_changed_and_promotion_approved(p: Platform) -> None:
    moved = len(_events(p, "alias.changed"))
    req = p.registry.set_alias("churn", "champion", 2)  # needs an approval: not moved yet
    assert _events(p, "alias.changed")[moved:] == []
    p.security.create_principal("approver", role="admin")
    _as(p, "approver").registry.approve_promotion(req.id)
    (approved,) = _events(p, "promotion.approved")
    assert (approved["alias"], approved["version"], approved["request"]) == ("champion", 2, req.id)
    assert approved["principal"] == "approver"
    (alias,) = _events(p, "alias.changed")[moved:]
    assert (alias["name"], alias["alias"], alias["version"]) == ("churn", "champion", 2)


def test_deployment_updated(p: Platform) -> None:
    p.serving.create_deployment("ev_dep", variants=[Variant(name="a", model="churn/1")])
    (event,) = [e for e in _events(p, "deployment.updated") if e["deployment"] == "ev_dep"]
    assert event["operation"] == "create_deployment" and event["version"] == 1


def test_job_finished_and_job_failed(p: Platform) -> None:
    ok = p.jobs.submit("shipyard.pipelines.builtin:echo", {"x": 1}, executor="inprocess")
    bad = p.jobs.submit(
        "shipyard.pipelines.builtin:sleep",
        {"seconds": "not a number"},
        executor="inprocess",
        max_attempts=1,
    )
    Worker(p, poll_interval=0.005).run(idle_exit=0.3)
    (finished,) = [e for e in _events(p, "job.finished") if e["job_id"] == ok.id]
    assert finished["target"].endswith(":echo") and finished["attempts"] == 1
    (failed,) = [e for e in _events(p, "job.failed") if e["job_id"] == bad.id]
    assert failed["state"] == "dead" and "TypeError" in failed["error"]


def test_events_go_to_the_owning_team_only(p: Platform) -> None:
    p.security.create_principal("ml_ed", team="ml", role="editor")
    p.security.create_principal("risk_viewer", team="risk", role="viewer")
    _as(p, "ml_ed").lake.write("bronze.ml_ev", pa.table({"x": [1]}), owner="ml")
    assert [e["table"] for e in _events(p, "table.committed", "ml")] == ["bronze.ml_ev"]
    assert "bronze.ml_ev" not in [e["table"] for e in _events(p, "table.committed")]
    spy = _as(p, "risk_viewer")
    with pytest.raises((PermissionDenied, NotFound)):
        spy.events.read_records(topic("ml", "table.committed"))
    assert p.events.get_topic(topic("ml", "table.committed")).owner == "ml"


def test_nobody_publishes_on_lifecycle_topics(p: Platform) -> None:
    with pytest.raises(PermissionDenied, match="lifecycle"):
        p.events.publish(topic("default", "model.version_created"), [{"name": "fake"}])
    with pytest.raises(PermissionDenied):
        p.events.create_topic("shipyard.anything")


def test_a_lifecycle_event_triggers_a_pipeline(p: Platform) -> None:
    step = {"name": "s", "function": "shipyard.pipelines.builtin:noop"}
    watched = topic("default", "table.committed")
    p.pipelines.apply([{"name": "on_commit", "steps": [step], "triggers": {"topics": [watched]}}])
    sched = p.pipelines.scheduler()
    sched.tick()  # first sight: the cursor starts at the end
    p.lake.write("bronze.trigger", pa.table({"x": [1]}))
    (run_id,) = sched.tick()
    assert p.pipelines.get_run(run_id).trigger == "topic"
