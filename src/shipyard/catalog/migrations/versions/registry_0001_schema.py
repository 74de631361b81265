"""registry schema

Revision ID: registry_0001
Revises:
Create Date: 2026-11-26 13:47:17.421455
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "registry_0001"
down_revision = None
branch_labels = ("registry",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "registry_alias_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("previous_version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_alias_history")),
    )
    with op.batch_alter_table("registry_alias_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_alias_history_name_alias", ["name", "alias"], unique=False
        )
    op.create_table(
        "registry_alias_policies",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("require_signature", sa.Boolean(), nullable=False),
        sa.Column("metric", sa.String(length=250), nullable=True),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "alias", name=op.f("pk_registry_alias_policies")),
    )
    op.create_table(
        "registry_models",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_registry_models")),
    )
    op.create_table(
        "registry_promotions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_promotions")),
    )
    with op.batch_alter_table("registry_promotions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_promotions_name_status", ["name", "status"], unique=False
        )
    op.create_table(
        "registry_aliases",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["name"],
            ["registry_models.name"],
            name=op.f("fk_registry_aliases_name_registry_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", "alias", name=op.f("pk_registry_aliases")),
    )
    op.create_table(
        "registry_versions",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=1024), nullable=False),
        sa.Column("storage_location", sa.String(length=1024), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("flavor", sa.String(length=64), nullable=True),
        sa.Column(
            "signature", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "metrics", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["name"],
            ["registry_models.name"],
            name=op.f("fk_registry_versions_name_registry_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_registry_versions")),
    )


def downgrade() -> None:
    op.drop_table("registry_versions")
    op.drop_table("registry_aliases")
    with op.batch_alter_table("registry_promotions", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_promotions_name_status")

    op.drop_table("registry_promotions")
    op.drop_table("registry_models")
    op.drop_table("registry_alias_policies")
    with op.batch_alter_table("registry_alias_history", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_alias_history_name_alias")

    op.drop_table("registry_alias_history")
