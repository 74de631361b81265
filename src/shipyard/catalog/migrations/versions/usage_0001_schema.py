"""usage schema: what workers measured per job, and measured gauges

Revision ID: usage_0001
Revises:
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "usage_0001"
down_revision = None
branch_labels = ("usage",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=600), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    op.create_index("ix_usage_records_ts", "usage_records", ["ts"])
    op.create_table(
        "usage_gauges",
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=600), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("measured_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("team", "metric", "subject", name=op.f("pk_usage_gauges")),
    )


def downgrade() -> None:
    op.drop_table("usage_gauges")
    op.drop_index("ix_usage_records_ts", table_name="usage_records")
    op.drop_table("usage_records")
