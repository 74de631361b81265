"""monitoring schema: reference profiles and drift reports

Revision ID: monitoring_0001
Revises:
Create Date: 2026-12-05 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "monitoring_0001"
down_revision = None
branch_labels = ("monitoring",)
depends_on = "core_0001"

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_profiles",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_profiles")),
    )
    op.create_index(
        "ix_monitoring_profiles_subject", "monitoring_profiles", ["kind", "name", "version"]
    )
    op.create_table(
        "monitoring_drift",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_drift")),
    )
    op.create_index(
        "ix_monitoring_drift_deployment", "monitoring_drift", ["deployment", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_drift_deployment", table_name="monitoring_drift")
    op.drop_table("monitoring_drift")
    op.drop_index("ix_monitoring_profiles_subject", table_name="monitoring_profiles")
    op.drop_table("monitoring_profiles")
