"""serving schema: the prediction spool and the lease of the job that flushes it

Revision ID: serving_0001
Revises:
Create Date: 2026-12-06 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "serving_0001"
down_revision = None
branch_labels = ("serving",)
depends_on = "core_0001"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "prediction_spool",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_spool")),
    )
    op.create_index("ix_prediction_spool_created_at", "prediction_spool", ["created_at"])
    op.create_table(
        "prediction_spool_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_prediction_spool_lease")),
    )


def downgrade() -> None:
    op.drop_table("prediction_spool_lease")
    op.drop_index("ix_prediction_spool_created_at", table_name="prediction_spool")
    op.drop_table("prediction_spool")
