"""Governance schema: the audit log (hash-chained, see ``governance/chain.py``)."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", UtcDateTime, nullable=False),
    sa.Column("principal", sa.String(128), nullable=False),
    sa.Column("action", sa.String(128), nullable=False),
    sa.Column("asset", sa.String(600), nullable=True),
    sa.Column("team", sa.String(128), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("details", Json, nullable=False),
    # The hash chain (governance/chain.py); NULL only in rows written around the log.
    sa.Column("prev_hash", sa.String(64), nullable=True),
    sa.Column("row_hash", sa.String(64), nullable=True),
    sa.Index("ix_audit_log_ts", "ts"),
    sa.Index("ix_audit_log_principal", "principal"),
    sa.Index("ix_audit_log_asset", "asset"),
)
