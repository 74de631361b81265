"""tracking schema

Revision ID: tracking_0001
Revises:
Create Date: 2026-11-26 13:47:17.421455
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "tracking_0001"
down_revision = None
branch_labels = ("tracking",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "tracking_experiments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("artifact_location", sa.String(length=1024), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=32), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_experiments")),
        sa.UniqueConstraint("name", name="uq_tracking_experiments_name"),
    )
    op.create_table(
        "tracking_logged_models",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("artifact_location", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("model_type", sa.String(length=128), nullable=True),
        sa.Column("source_run_id", sa.String(length=32), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["tracking_experiments.id"],
            name=op.f("fk_tracking_logged_models_experiment_id_tracking_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_logged_models")),
    )
    with op.batch_alter_table("tracking_logged_models", schema=None) as batch_op:
        batch_op.create_index("ix_tracking_logged_models_run", ["run_id"], unique=False)
    op.create_table(
        "tracking_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("experiment_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=32), nullable=False),
        sa.Column("parent_run_id", sa.String(length=32), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("artifact_uri", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["tracking_experiments.id"],
            name=op.f("fk_tracking_runs_experiment_id_tracking_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_runs")),
    )
    with op.batch_alter_table("tracking_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracking_runs_experiment_start", ["experiment_id", "start_time"], unique=False
        )
        batch_op.create_index("ix_tracking_runs_parent", ["parent_run_id"], unique=False)
    op.create_table(
        "tracking_inputs",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=600), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("context", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=128), nullable=True),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name=op.f("fk_tracking_inputs_run_id_tracking_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "ref", name=op.f("pk_tracking_inputs")),
    )
    op.create_table(
        "tracking_latest_metrics",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name=op.f("fk_tracking_latest_metrics_run_id_tracking_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_tracking_latest_metrics")),
    )
    with op.batch_alter_table("tracking_latest_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracking_latest_metrics_key_value", ["key", "value"], unique=False
        )
    op.create_table(
        "tracking_metrics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name=op.f("fk_tracking_metrics_run_id_tracking_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_metrics")),
    )
    with op.batch_alter_table("tracking_metrics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tracking_metrics_run_key_step", ["run_id", "key", "step"], unique=False
        )
    op.create_table(
        "tracking_params",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name=op.f("fk_tracking_params_run_id_tracking_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_tracking_params")),
    )
    with op.batch_alter_table("tracking_params", schema=None) as batch_op:
        batch_op.create_index("ix_tracking_params_key_value", ["key", "value"], unique=False)
    op.create_table(
        "tracking_tags",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["tracking_runs.id"],
            name=op.f("fk_tracking_tags_run_id_tracking_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "key", name=op.f("pk_tracking_tags")),
    )


def downgrade() -> None:
    op.drop_table("tracking_tags")
    with op.batch_alter_table("tracking_params", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_params_key_value")

    op.drop_table("tracking_params")
    with op.batch_alter_table("tracking_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_metrics_run_key_step")

    op.drop_table("tracking_metrics")
    with op.batch_alter_table("tracking_latest_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_latest_metrics_key_value")

    op.drop_table("tracking_latest_metrics")
    op.drop_table("tracking_inputs")
    with op.batch_alter_table("tracking_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_runs_parent")
        batch_op.drop_index("ix_tracking_runs_experiment_start")

    op.drop_table("tracking_runs")
    with op.batch_alter_table("tracking_logged_models", schema=None) as batch_op:
        batch_op.drop_index("ix_tracking_logged_models_run")

    op.drop_table("tracking_logged_models")
    op.drop_table("tracking_experiments")
