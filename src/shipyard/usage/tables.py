"""Usage schema: what workers measured per job, and the last measured gauges."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import UtcDateTime, metadata

#: One row per finished job (or batch scoring job): what its process accounting said.
usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", UtcDateTime, nullable=False),
    sa.Column("team", sa.String(128), nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("resource", sa.String(600), nullable=False),
    sa.Column("cpu_seconds", sa.Float, nullable=False),
    sa.Column("peak_memory_bytes", sa.BigInteger, nullable=False),
    sa.Index("ix_usage_records_ts", "ts"),
)

#: The last value of a measured gauge (artifact bytes per root), read by storage quotas.
usage_gauges = sa.Table(
    "usage_gauges",
    metadata,
    sa.Column("team", sa.String(128), primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(600), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("measured_at", UtcDateTime, nullable=False),
)
