"""Feature store schema: one row per materialization run (watermark, counts, statistics).

Definitions themselves are catalog assets (kinds ``entity``, ``feature_view``,
``on_demand_feature_view``, ``feature_service``) with their spec in the properties.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

feature_materializations = sa.Table(
    "feature_materializations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("view", sa.String(512), nullable=False),
    sa.Column("namespace", sa.String(600), nullable=False),
    sa.Column("backend", sa.String(256), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=False),
    #: Event-time range read: (start, end]; ``end`` is the new watermark.
    sa.Column("start_ts", UtcDateTime, nullable=True),
    sa.Column("end_ts", UtcDateTime, nullable=True),
    sa.Column("watermark", UtcDateTime, nullable=True),
    sa.Column("source_version", sa.Integer, nullable=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("entities", sa.BigInteger, nullable=False),
    sa.Column("written", sa.BigInteger, nullable=False),
    sa.Column("statistics", Json, nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Index("ix_feature_materializations_view", "view", "namespace"),
)
