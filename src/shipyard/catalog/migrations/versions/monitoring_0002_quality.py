"""monitoring schema: data-quality snapshots of lake tables

Revision ID: monitoring_0002
Revises: monitoring_0001
Create Date: 2026-12-05 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "monitoring_0002"
down_revision = "monitoring_0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_quality",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("table_name", sa.String(length=512), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_quality")),
    )
    op.create_index(
        "ix_monitoring_quality_table", "monitoring_quality", ["table_name", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_quality_table", table_name="monitoring_quality")
    op.drop_table("monitoring_quality")
