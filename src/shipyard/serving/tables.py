"""Serving schema: the prediction spool, and the lease of the job that empties it.

Server processes write their buffered predictions here (one row a block, Arrow IPC);
the scheduled ``flush_prediction_log`` job appends them to the inference log's Delta
table and deletes them (``serving/spool.py``, ADR 0052).
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import UtcDateTime, metadata

#: One block of predictions of one server process, waiting for the inference log.
prediction_spool = sa.Table(
    "prediction_spool",
    metadata,
    #: The block id: the writer's batch id, so a retried insert adds nothing.
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    #: ``LOG_SCHEMA`` rows as an Arrow IPC stream (zstd).
    sa.Column("payload", sa.LargeBinary, nullable=False),
    #: The Delta batch id a flush wrote this block under, set before it writes: a flush
    #: that dies after its commit leaves it, and the next one writes that batch again
    #: (which the lake skips as applied) before deleting the block.
    sa.Column("batch_id", sa.String(64), nullable=True),
    sa.Index("ix_prediction_spool_created_at", "created_at"),
)

#: Who is flushing the spool now: one row, taken with a conditional update that only
#: succeeds when the lease is free or expired.
spool_lease = sa.Table(
    "prediction_spool_lease",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(64), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)
