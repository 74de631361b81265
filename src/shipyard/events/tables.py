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
