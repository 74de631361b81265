"""tracking: a rollup of the metric history, min and max per block of 16 steps

The compare view's first chart (100 runs x 10,000 steps) aggregated 1,000,000
history rows a metric; the rollup holds one row per run, key and block of
``ROLLUP_STEPS`` (16) steps, so the first draw reads 1/16 of that. Writers upsert it
with every metric batch (``store.insert_metrics``, ``pg_bulk.log_metrics``); this
migration fills it from the history already stored.

Revision ID: tracking_0004
Revises: tracking_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "tracking_0004"
down_revision = "tracking_0003"
branch_labels = None
depends_on = None

# floor(step / 16) on both dialects (their integer division truncates toward zero)
_BACKFILL = """
INSERT INTO tracking_metric_rollups (run_id, key, block, min_value, max_value)
SELECT run_id, key, CASE WHEN step >= 0 THEN step / 16 ELSE (step - 15) / 16 END AS blk,
       min(value), max(value)
FROM tracking_metrics WHERE NOT is_nan
GROUP BY run_id, key, blk
"""


def upgrade() -> None:
    op.create_table(
        "tracking_metric_rollups",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("min_value", sa.Float(), nullable=False),
        sa.Column("max_value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "key", "block", name=op.f("pk_tracking_metric_rollups")),
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table("tracking_metric_rollups")
