"""tracking: the metric history table without its foreign key to runs

The history is the one table that grows by thousands of rows per request, and
its foreign key cost one trigger call per row (a third of a 1,000-metric batch's
insert on PostgreSQL). Writers check the run in the same transaction; runs are
never hard-deleted (deleting one sets its lifecycle stage).

Revision ID: tracking_0002
Revises: tracking_0001
"""

from __future__ import annotations

from alembic import op

revision = "tracking_0002"
down_revision = "tracking_0001"
branch_labels = None
depends_on = None

_FK = "fk_tracking_metrics_run_id_tracking_runs"


def upgrade() -> None:
    with op.batch_alter_table("tracking_metrics", schema=None) as batch_op:
        batch_op.drop_constraint(_FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("tracking_metrics", schema=None) as batch_op:
        batch_op.create_foreign_key(_FK, "tracking_runs", ["run_id"], ["id"], ondelete="CASCADE")
