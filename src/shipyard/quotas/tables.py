"""Quotas schema: one row per (scope, subject, resource)."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import UtcDateTime, metadata

quotas = sa.Table(
    "quotas",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("subject", sa.String(128), primary_key=True),
    sa.Column("resource", sa.String(64), primary_key=True),
    sa.Column("limit", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
