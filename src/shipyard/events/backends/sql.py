"""The embedded bus: an append-only table in the metadata DB (SQLite or PostgreSQL).

Offsets are handed out by one row per topic (``event_topics.next_offset``),
updated inside the publishing transaction: PostgreSQL row-locks it and SQLite
writers hold the database lock (``BEGIN IMMEDIATE``), so concurrent publishers
-- threads or processes -- get disjoint, gap-free ranges and a batch is visible
all at once or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import utcnow
from shipyard._internal.db import Database
from shipyard._internal.outbox import Outbox
from shipyard.events.backends.base import (
    ATOMIC_BATCH,
    CATALOG_TX,
    DURABLE_GROUPS,
    IDEMPOTENT_PUBLISH,
    EventBus,
)
from shipyard.events.models import Position, Record
from shipyard.events.tables import event_offsets, event_publish_keys, event_records, event_topics


class SqlEventBus(EventBus):
    """Topics as rows of ``event_records`` in the catalog database."""

    capabilities = frozenset({ATOMIC_BATCH, CATALOG_TX, IDEMPOTENT_PUBLISH, DURABLE_GROUPS})

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def _tx(self, tx: Outbox | None) -> Iterator[Connection]:
        if tx is not None:  # the caller's transaction: the log is its outbox
            yield tx.connection()
            return
        with self._db.begin() as conn:
            yield conn

    def publish(
        self,
        topic: str,
        values: list[dict[str, Any]],
        *,
        key: str | None = None,
        tx: Outbox | None = None,
    ) -> tuple[int, int, bool]:
        with self._tx(tx) as conn:
            first = self._allocate(conn, topic, len(values))
            if key is not None:
                done = conn.execute(
                    sa.select(event_publish_keys.c.first_offset, event_publish_keys.c.last_offset)
                    .where(event_publish_keys.c.topic == topic)
                    .where(event_publish_keys.c.batch_key == key)
                ).first()
                if done is not None:
                    self._release(conn, topic, len(values))
                    return int(done[0]), int(done[1]), True
            now = utcnow()
            conn.execute(
                event_records.insert(),
                [
                    {"topic": topic, "offset": first + i, "value": v, "published_at": now}
                    for i, v in enumerate(values)
                ],
            )
            last = first + len(values) - 1
            if key is not None:
                conn.execute(
                    event_publish_keys.insert().values(
                        topic=topic, batch_key=key, first_offset=first, last_offset=last
                    )
                )
            return first, last, False

    def _allocate(self, conn: Connection, topic: str, n: int) -> int:
        """Reserve ``n`` offsets; the row stays locked until the transaction ends."""
        t = event_topics
        bumped = conn.execute(
            t.update().where(t.c.name == topic).values(next_offset=t.c.next_offset + n)
        ).rowcount
        if not bumped:
            if self._db.dialect == "postgresql":
                from sqlalchemy.dialects.postgresql import insert

                conn.execute(
                    insert(t)
                    .values(name=topic, next_offset=0, created_at=utcnow())
                    .on_conflict_do_nothing()
                )
            else:
                conn.execute(
                    t.insert()
                    .prefix_with("OR IGNORE")
                    .values(name=topic, next_offset=0, created_at=utcnow())
                )
            conn.execute(
                t.update().where(t.c.name == topic).values(next_offset=t.c.next_offset + n)
            )
        end = conn.execute(sa.select(t.c.next_offset).where(t.c.name == topic)).scalar_one()
        return int(end) - n

    def _release(self, conn: Connection, topic: str, n: int) -> None:
        t = event_topics
        conn.execute(t.update().where(t.c.name == topic).values(next_offset=t.c.next_offset - n))

    def read(self, topic: str, offset: int, limit: int) -> list[Record]:
        r = event_records
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(r.c.offset, r.c.value, r.c.published_at)
                .where(r.c.topic == topic)
                .where(r.c.offset >= offset)
                .order_by(r.c.offset)
                .limit(limit)
            ).all()
        return [Record(topic=topic, offset=int(o), value=v, published_at=at) for o, v, at in rows]

    def position(self, topic: str, group: str) -> Position:
        o = event_offsets
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(o.c.offset, o.c.pending_end)
                .where(o.c.topic == topic)
                .where(o.c.group_name == group)
            ).first()
        if row is None:
            return Position()
        return Position(offset=int(row[0]), pending_end=None if row[1] is None else int(row[1]))

    def set_position(
        self, topic: str, group: str, position: Position, *, tx: Outbox | None = None
    ) -> None:
        o = event_offsets
        values = {
            "offset": position.offset,
            "pending_end": position.pending_end,
            "updated_at": utcnow(),
        }
        with self._tx(tx) as conn:
            done = conn.execute(
                o.update().where(o.c.topic == topic).where(o.c.group_name == group).values(**values)
            ).rowcount
            if not done:
                conn.execute(o.insert().values(topic=topic, group_name=group, **values))

    def end_offset(self, topic: str) -> int:
        with self._db.connect() as conn:
            end = conn.execute(
                sa.select(event_topics.c.next_offset).where(event_topics.c.name == topic)
            ).scalar()
        return int(end or 0)

    def topics(self) -> dict[str, int]:
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(event_topics.c.name, event_topics.c.next_offset).order_by(
                    event_topics.c.name
                )
            ).all()
        return {name: int(end) for name, end in rows}

    def groups(self, topic: str) -> dict[str, int]:
        o = event_offsets
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(o.c.group_name, o.c.offset)
                .where(o.c.topic == topic)
                .order_by(o.c.group_name)
            ).all()
        return {g: int(off) for g, off in rows}
