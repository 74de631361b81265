"""The embedded bus: an append-only log table in the catalog DB plus consumer offsets."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

#: One row per topic: the next offset to hand out (row-locked by publishers).
event_topics = sa.Table(
    "event_topics",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False, default=0),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

#: The log: append-only, offsets unique and gap-free per topic.
event_records = sa.Table(
    "event_records",
    metadata,
    sa.Column("topic", sa.String(256), primary_key=True),
    sa.Column("offset", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("value", Json, nullable=False),
    sa.Column("published_at", UtcDateTime, nullable=False),
)

#: Durable consumer-group positions: ``offset`` is the next record to read;
#: ``pending_end`` is the last offset of a batch handed out but not yet committed.
event_offsets = sa.Table(
    "event_offsets",
    metadata,
    sa.Column("topic", sa.String(256), primary_key=True),
    sa.Column("group_name", sa.String(256), primary_key=True),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("pending_end", sa.BigInteger, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

#: Idempotency keys of published batches (a retried publish with the same key is a no-op).
event_publish_keys = sa.Table(
    "event_publish_keys",
    metadata,
    sa.Column("topic", sa.String(256), primary_key=True),
    sa.Column("batch_key", sa.String(256), primary_key=True),
    sa.Column("first_offset", sa.BigInteger, nullable=False),
    sa.Column("last_offset", sa.BigInteger, nullable=False),
)

#: The transactional outbox of a bus outside the metadata DB (NATS): lifecycle events
#: written in the change's transaction, published after it commits, then marked sent.
#: ``msg_id`` is the broker's deduplication id (``Nats-Msg-Id``), unique across
#: catalogs that share a broker; ``id`` orders the rows.
event_outbox = sa.Table(
    "event_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("msg_id", sa.String(64), nullable=False, unique=True),
    sa.Column("topic", sa.String(256), nullable=False),
    sa.Column("value", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Index("ix_event_outbox_sent_at", "sent_at"),
)
