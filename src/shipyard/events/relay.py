"""The transactional outbox of lifecycle events, for a bus outside the metadata DB (NATS).

The SQL bus writes an event in the change's own transaction (its log is the outbox).
A broker cannot join that transaction, so publishing to it from inside the change
would announce changes that then roll back, and publishing after the commit would
lose the event if the process died in between. Instead:

1. ``OutboxRelay.stage`` writes the event as a row of ``event_outbox`` in the change's
   transaction: the row exists if and only if the change committed.
2. Once that transaction has committed (``Database.begin`` runs ``after_commit``
   callbacks), the same process publishes its rows and marks them sent.
3. ``OutboxRelay.relay`` — each scheduler pass, so also at start-up — publishes rows
   still unsent: a crash between commit and publish, a broker that was down.

Every row is published with its ``msg_id`` as the broker's deduplication id
(``Nats-Msg-Id``), so a row published twice — a crash after the publish but before
the row was marked sent, two relays racing — is stored once (within JetStream's
duplicate window, one hour). Rows sent more than ``RETAIN`` ago are deleted.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.db import after_commit
from shipyard.events.tables import event_outbox

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from shipyard._internal.db import Database
    from shipyard._internal.shared import Shared
    from shipyard.events.backends.base import EventBus

log = logging.getLogger(__name__)

#: Sent rows are kept this long (what was published when), then deleted.
RETAIN = timedelta(days=1)
#: How often a periodic relay deletes old sent rows.
PRUNE_EVERY = timedelta(hours=1)


class OutboxRelay:
    """Stages events in the change's transaction and publishes them after it commits."""

    def __init__(self, db: Database, bus: Shared[EventBus], *, batch: int = 500) -> None:
        self._db = db
        self._bus = bus
        self._batch = batch
        self._pruned: datetime | None = None
        self._prune_lock = threading.Lock()

    def stage(self, conn: Connection, topic: str, records: list[dict[str, Any]]) -> list[str]:
        """Write ``records`` for ``topic`` in ``conn``'s transaction; published after commit.

        Returns the rows' message ids.
        """
        now = utcnow()
        ids = [uuid.uuid4().hex for _ in records]
        conn.execute(
            event_outbox.insert(),
            [
                {"msg_id": i, "topic": topic, "value": r, "created_at": now}
                for i, r in zip(ids, records, strict=True)
            ],
        )
        after_commit(conn, lambda: self._after_commit(ids))
        return ids

    def _after_commit(self, ids: list[str]) -> None:
        self.relay(ids)

    def relay(self, msg_ids: Sequence[str] | None = None) -> int:
        """Publish unsent rows (those of ``msg_ids``, or the oldest ``batch``), in order,
        and mark them sent. Never raises: a row that fails stays for the next pass.

        Returns how many rows were published.
        """
        o = event_outbox
        q = sa.select(o.c.id, o.c.msg_id, o.c.topic, o.c.value).where(o.c.sent_at.is_(None))
        if msg_ids is not None:
            q = q.where(o.c.msg_id.in_(list(msg_ids)))
        try:
            with self._db.connect() as conn:
                rows = conn.execute(q.order_by(o.c.id).limit(self._batch)).all()
        except Exception as exc:
            log.warning("event outbox not readable: %s", exc)
            return 0
        if not rows:
            return 0
        sent: list[int] = []
        try:
            bus = self._bus.get()
            for topic, group in groupby(rows, key=lambda r: str(r.topic)):
                items = list(group)
                bus.publish_keyed(topic, [(str(r.msg_id), r.value) for r in items])
                sent += [int(r.id) for r in items]
        except Exception as exc:  # the broker is away: the next pass publishes the rest
            left = len(rows) - len(sent)
            log.warning("lifecycle events not published yet (%d left): %s", left, exc)
        if sent:
            self._mark_sent(sent)
        return len(sent)

    def _mark_sent(self, ids: list[int]) -> None:
        o = event_outbox
        try:
            with self._db.begin() as conn:
                conn.execute(o.update().where(o.c.id.in_(ids)).values(sent_at=utcnow()))
        except Exception as exc:  # published: a relay publishes them again, deduplicated
            log.warning("event outbox: %d sent rows not marked: %s", len(ids), exc)

    def relay_pending(self, now: datetime | None = None) -> int:
        """A periodic pass: publish everything unsent, hourly delete old sent rows."""
        total = 0
        for _ in range(100):  # bounded: rows that cannot be marked sent come back
            n = self.relay()
            total += n
            if n < self._batch:
                break
        self._prune(now or utcnow())
        return total

    def pending(self) -> int:
        """Rows not published yet."""
        o = event_outbox
        with self._db.connect() as conn:
            q = sa.select(sa.func.count()).select_from(o).where(o.c.sent_at.is_(None))
            return int(conn.execute(q).scalar_one())

    def _prune(self, now: datetime) -> None:
        with self._prune_lock:
            if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
                return
            self._pruned = now
        o = event_outbox
        try:
            with self._db.begin() as conn:
                conn.execute(o.delete().where(o.c.sent_at < now - RETAIN))
        except Exception as exc:
            log.warning("event outbox not pruned: %s", exc)
