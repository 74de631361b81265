"""The lifecycle-event outbox of a bus outside the metadata DB (ADR 0033).

``RecordingBus`` is a test double for a broker that cannot join the catalog's
transaction (no ``catalog_tx``, like NATS): it records what it was asked to publish,
with the deduplication id; tests/integration/events/test_outbox_nats.py runs the same
paths against the real JetStream server, which deduplicates by that id.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipyard._internal.db import Database
from shipyard._internal.outbox import Outbox
from shipyard._internal.shared import Shared
from shipyard.catalog.migrate import upgrade
from shipyard.catalog.store import SqlCatalogStore
from shipyard.events.backends.base import EventBus
from shipyard.events.lifecycle import Lifecycle
from shipyard.events.models import Position, Record
from shipyard.events.relay import OutboxRelay

TOPIC = "shipyard.ml.table.committed"
RECORD = {"event": "table.committed", "team": "ml", "table": "gold.x", "version": 4}


class RecordingBus(EventBus):
    """Records ``(topic, msg_id, value)``; ``down`` makes publishing fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.down = False

    def publish_keyed(self, topic: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        if self.down:
            raise ConnectionError("broker unreachable")
        self.sent += [(topic, k, v) for k, v in items]

    def publish(
        self,
        topic: str,
        values: list[dict[str, Any]],
        *,
        key: str | None = None,
        tx: Outbox | None = None,
    ) -> tuple[int, int, bool]:
        raise AssertionError("lifecycle events go through the outbox")

    def read(self, topic: str, offset: int, limit: int) -> list[Record]:
        return []

    def position(self, topic: str, group: str) -> Position:
        return Position()

    def set_position(
        self, topic: str, group: str, position: Position, *, tx: Outbox | None = None
    ) -> None:
        pass

    def end_offset(self, topic: str) -> int:
        return 0

    def topics(self) -> dict[str, int]:
        return {}

    def groups(self, topic: str) -> dict[str, int]:
        return {}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("outbox") / "catalog.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def bus() -> RecordingBus:
    return RecordingBus()


def _process(db: Database, bus: RecordingBus) -> tuple[Lifecycle, OutboxRelay]:
    """What one process holds: its lifecycle publisher and its relay over the catalog."""
    cell: Shared[EventBus] = Shared(lambda: bus)
    relay = OutboxRelay(db, cell)
    return Lifecycle(cell, SqlCatalogStore(), relay), relay


@pytest.fixture(autouse=True)
def _empty(db: Database) -> None:
    """Each test starts with nothing unsent (a previous test's leftovers are published)."""
    OutboxRelay(db, Shared(RecordingBus)).relay_pending()


def test_rolled_back_change_publishes_nothing(db: Database, bus: RecordingBus) -> None:
    lifecycle, relay = _process(db, bus)
    with pytest.raises(RuntimeError), db.begin() as conn:
        lifecycle.publish(conn, "ml", "table.committed", [RECORD])
        raise RuntimeError("the change fails after announcing")
    assert relay.relay_pending() == 0
    assert bus.sent == [] and relay.pending() == 0


def test_published_after_the_commit_not_before(db: Database, bus: RecordingBus) -> None:
    lifecycle, relay = _process(db, bus)
    with db.begin() as conn:
        lifecycle.publish(conn, "ml", "table.committed", [RECORD, {**RECORD, "version": 5}])
        assert bus.sent == []  # not while the change may still roll back
    assert [(t, v["version"]) for t, _, v in bus.sent] == [(TOPIC, 4), (TOPIC, 5)]
    assert relay.pending() == 0
    assert relay.relay_pending() == 0  # marked sent: the periodic pass has nothing to do
    assert len(bus.sent) == 2


def test_crash_between_commit_and_publish_relays_exactly_once(
    db: Database, bus: RecordingBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lifecycle, dying = _process(db, RecordingBus())
    monkeypatch.setattr(dying, "relay", lambda ids=None: 0)  # dies right after the commit
    with db.begin() as conn:
        ids = dying.stage(conn, TOPIC, [RECORD])
    _, restarted = _process(db, bus)
    assert restarted.pending() == 1
    assert restarted.relay_pending() == 1  # the start-up pass
    assert restarted.relay_pending() == 0
    assert [(t, k) for t, k, _ in bus.sent] == [(TOPIC, ids[0])]


def test_crash_after_publish_republishes_with_the_same_id(
    db: Database, bus: RecordingBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Published, then died before marking the row sent: the relay publishes it again
    with the same deduplication id, which the broker stores once (the NATS test)."""
    lifecycle, dying = _process(db, bus)
    monkeypatch.setattr(dying, "_mark_sent", lambda ids: None)
    with db.begin() as conn:
        lifecycle.publish(conn, "ml", "table.committed", [RECORD])
    _, restarted = _process(db, bus)
    assert restarted.relay_pending() == 1
    assert restarted.relay_pending() == 0
    (_, first, _), (_, again, _) = bus.sent
    assert first == again


def test_broker_down_keeps_the_change_and_relays_later(db: Database, bus: RecordingBus) -> None:
    lifecycle, relay = _process(db, bus)
    bus.down = True
    with db.begin() as conn:  # the change commits even though the broker is away
        lifecycle.publish(conn, "ml", "table.committed", [RECORD])
        lifecycle.publish(conn, "ml", "alias.changed", [{"event": "alias.changed"}])
    assert relay.pending() == 2 and relay.relay_pending() == 0
    bus.down = False
    assert relay.relay_pending() == 2
    assert [t for t, _, _ in bus.sent] == [TOPIC, "shipyard.ml.alias.changed"]  # in order


def test_savepoint_rolled_back_publishes_nothing(db: Database, bus: RecordingBus) -> None:
    """Job events are announced in a savepoint of the recording transaction."""
    lifecycle, relay = _process(db, bus)
    with db.begin() as conn, pytest.raises(RuntimeError), conn.begin_nested():
        lifecycle.publish(conn, "ml", "job.finished", [{"event": "job.finished"}])
        raise RuntimeError("the savepoint fails")
    assert bus.sent == [] and relay.pending() == 0
