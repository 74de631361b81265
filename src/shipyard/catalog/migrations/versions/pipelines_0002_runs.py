"""pipelines: runs of pipeline DAGs, schedule ticks and trigger cursors; jobs know their run

Revision ID: pipelines_0002
Revises: pipelines_0001
Create Date: 2026-12-05 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "pipelines_0002"
down_revision = "pipelines_0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("run_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("step", sa.String(length=100), nullable=True))
    op.create_index("ix_jobs_finished", "jobs", ["finished_at", "run_id"])
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("pipeline_version", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("trigger_key", sa.String(length=300), nullable=True),
        sa.Column("partition", sa.String(length=32), nullable=True),
        sa.Column("backfill_id", sa.String(length=32), nullable=True),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("steps", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
    )
    op.create_index("ix_pipeline_runs_pipeline", "pipeline_runs", ["pipeline", "created_at"])
    op.create_index("ix_pipeline_runs_state", "pipeline_runs", ["state"])
    op.create_index("ix_pipeline_runs_backfill", "pipeline_runs", ["backfill_id"])
    op.create_table(
        "pipeline_ticks",
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("tick_key", sa.String(length=300), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "tick_key", name=op.f("pk_pipeline_ticks")),
    )
    op.create_table(
        "pipeline_cursors",
        sa.Column("pipeline", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("position", sa.String(length=64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("pipeline", "source", name=op.f("pk_pipeline_cursors")),
    )


def downgrade() -> None:
    op.drop_table("pipeline_cursors")
    op.drop_table("pipeline_ticks")
    op.drop_index("ix_pipeline_runs_backfill", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_state", table_name="pipeline_runs")
    op.drop_index("ix_pipeline_runs_pipeline", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
    op.drop_index("ix_jobs_finished", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("step")
        batch.drop_column("run_id")
