"""lake schema: table definitions and refresh runs

Revision ID: lake_0001
Revises:
Create Date: 2026-11-26 14:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "lake_0001"
down_revision = None
branch_labels = ("lake",)
depends_on = "core_0001"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "lake_definitions",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lake_definitions")),
    )
    op.create_table(
        "lake_refreshes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("table_name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("expectations", JSON, nullable=False),
        sa.Column("source_versions", JSON, nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lake_refreshes")),
    )
    with op.batch_alter_table("lake_refreshes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lake_refreshes_table_name"), ["table_name"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lake_refreshes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lake_refreshes_table_name"))
    op.drop_table("lake_refreshes")
    op.drop_table("lake_definitions")
