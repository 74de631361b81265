"""quotas schema: caps per team and per principal

Revision ID: quotas_0001
Revises:
Create Date: 2026-12-05 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "quotas_0001"
down_revision = None
branch_labels = ("quotas",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quotas",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("limit", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", "resource", name=op.f("pk_quotas")),
    )


def downgrade() -> None:
    op.drop_table("quotas")
