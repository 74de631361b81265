"""monitoring schema: deployment SLOs and the incidents their burn opens

Revision ID: monitoring_0003
Revises: monitoring_0002
Create Date: 2026-12-06 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "monitoring_0003"
down_revision = "monitoring_0002"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_slos",
        sa.Column("deployment", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("body", _JSON, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("deployment", "name", name=op.f("pk_monitoring_slos")),
    )
    op.create_table(
        "monitoring_incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("deployment", sa.String(length=256), nullable=False),
        sa.Column("source", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS, nullable=True),
        sa.Column("body", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_incidents")),
    )
    op.create_index(
        "ix_monitoring_incidents_deployment", "monitoring_incidents", ["deployment", "opened_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_incidents_deployment", table_name="monitoring_incidents")
    op.drop_table("monitoring_incidents")
    op.drop_table("monitoring_slos")
