"""tracking: the metric history's index covers value and is_nan

``TrackingService.metric_buckets`` (the UI's compare charts) aggregates the min and
max of one metric over up to 1,000 runs' histories (1,000,000 rows for 100 runs x
10,000 steps). With ``(run_id, key, step)`` the index found the rows but every value
was then read from the table (0.7 s of 1.8 s on SQLite); ``(run_id, key, step, value,
is_nan)`` answers the query from the index alone. It replaces the old index, whose
columns are its prefix (history reads by run, key and step use it the same way).

Revision ID: tracking_0003
Revises: tracking_0002
"""

from __future__ import annotations

from alembic import op

revision = "tracking_0003"
down_revision = "tracking_0002"
branch_labels = None
depends_on = None

_COLUMNS = ["run_id", "key", "step", "value", "is_nan"]


def upgrade() -> None:
    op.create_index("ix_tracking_metrics_run_key_step_value", "tracking_metrics", _COLUMNS)
    op.drop_index("ix_tracking_metrics_run_key_step", table_name="tracking_metrics")


def downgrade() -> None:
    op.create_index(
        "ix_tracking_metrics_run_key_step", "tracking_metrics", ["run_id", "key", "step"]
    )
    op.drop_index("ix_tracking_metrics_run_key_step_value", table_name="tracking_metrics")
