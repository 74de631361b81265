"""Lifecycle events reach a real NATS JetStream through the outbox, exactly once (ADR 0033)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.events.lifecycle import LifecycleAudit, topic
from shipyard.events.relay import OutboxRelay
from shipyard.events.tables import event_outbox
from shipyard.platform import Platform
from tests.integration.events.test_nats import _drop_streams

pytestmark = pytest.mark.integration


@pytest.fixture
def team() -> str:
    return f"ob{uuid.uuid4().hex[:10]}"  # a stream of this test's own


@pytest.fixture(params=["sqlite", "postgresql"])
def plat(
    request: pytest.FixtureRequest, tmp_path: Path, nats_url: str, team: str
) -> Iterator[Platform]:
    """A project with NATS as its bus and its catalog (the outbox) on SQLite or PostgreSQL."""
    catalog = {"url": request.getfixturevalue("pg_url")} if request.param == "postgresql" else {}
    p = Platform.open(tmp_path, events={"backend": "nats", "url": nats_url}, catalog=catalog)
    yield p
    p.close()
    _drop_streams(nats_url, [topic(team, "run.finished")])


def _relay(p: Platform) -> OutboxRelay:
    audit = p.context.audit
    assert isinstance(audit, LifecycleAudit)
    return audit.lifecycle.relay


def _finish_run(p: Platform, team: str) -> str:
    exp = p.tracking.create_experiment(f"e-{team}", owner=team)
    run = p.tracking.create_run(exp.name)
    p.tracking.update_run(run.id, status="FINISHED")
    return run.id


def _finished(p: Platform, team: str) -> list[str]:
    return [r.value["run_id"] for r in p.events.read_records(topic(team, "run.finished"))]


def test_event_is_published_after_the_commit(plat: Platform, team: str) -> None:
    run_id = _finish_run(plat, team)
    assert _finished(plat, team) == [run_id]
    assert _relay(plat).pending() == 0


def test_crash_between_commit_and_publish_is_relayed_once(
    plat: Platform, team: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    relay = _relay(plat)
    with monkeypatch.context() as m:
        m.setattr(relay, "relay", lambda ids=None: 0)  # the process dies after the commit
        run_id = _finish_run(plat, team)
    assert relay.pending() == 1
    scheduler = plat.pipelines.scheduler()
    scheduler.tick()  # a (re)started scheduler's first pass publishes it
    assert _finished(plat, team) == [run_id] and relay.pending() == 0
    # published but not marked sent (a crash in between): JetStream drops the repeat
    with plat.context.db.begin() as conn:
        conn.execute(event_outbox.update().values(sent_at=None))
    scheduler.tick()
    assert _finished(plat, team) == [run_id] and relay.pending() == 0
