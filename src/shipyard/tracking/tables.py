"""Tracking schema (SQLAlchemy Core): experiments, runs, params, metrics, tags, inputs.

Metric timestamps are epoch milliseconds (as MLflow stores them): they are the
hot path and the wire format of the MLflow REST API. ``tracking_latest_metrics``
holds the last value of each metric per run so that search and ordering by a
metric never scan the history.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

experiments = sa.Table(
    "tracking_experiments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("artifact_location", sa.String(1024), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Column("tags", Json, nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("name", name="uq_tracking_experiments_name"),
)

runs = sa.Table(
    "tracking_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "experiment_id",
        sa.String(32),
        sa.ForeignKey("tracking_experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False),
    sa.Column("parent_run_id", sa.String(32), nullable=True),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("artifact_uri", sa.String(1024), nullable=False),
    sa.Index("ix_tracking_runs_experiment_start", "experiment_id", "start_time"),
    sa.Index("ix_tracking_runs_parent", "parent_run_id"),
)


def _run_id_col() -> sa.Column[str]:
    return sa.Column(
        "run_id",
        sa.String(32),
        sa.ForeignKey("tracking_runs.id", ondelete="CASCADE"),
        primary_key=True,
    )


params = sa.Table(
    "tracking_params",
    metadata,
    _run_id_col(),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Index("ix_tracking_params_key_value", "key", "value"),
)

tags = sa.Table(
    "tracking_tags",
    metadata,
    _run_id_col(),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

metrics = sa.Table(
    "tracking_metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # no foreign key (tracking_0002): one trigger call per history row was a third of
    # a batch insert; writers check the run in the same transaction and runs are
    # never hard-deleted. A future purge of runs must delete their history itself.
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("key", sa.String(250), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    # covering (tracking_0003): the compare charts' bucketed min/max read no table rows
    sa.Index("ix_tracking_metrics_run_key_step_value", "run_id", "key", "step", "value", "is_nan"),
)

#: Steps a metric rollup row summarises: block ``b`` holds steps ``[b * R, (b + 1) * R)``.
ROLLUP_STEPS = 16

metric_rollups = sa.Table(
    # per run, key and block of ROLLUP_STEPS steps: the min and max of the history's
    # non-NaN values (tracking_0004), upserted with every metric write; the compare
    # charts' first draw reads these (1/16 of the rows) instead of the history
    "tracking_metric_rollups",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("block", sa.BigInteger, primary_key=True),
    sa.Column("min_value", sa.Float, nullable=False),
    sa.Column("max_value", sa.Float, nullable=False),
)

latest_metrics = sa.Table(
    "tracking_latest_metrics",
    metadata,
    _run_id_col(),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Index("ix_tracking_latest_metrics_key_value", "key", "value"),
)

inputs = sa.Table(
    "tracking_inputs",
    metadata,
    _run_id_col(),
    sa.Column("ref", sa.String(600), primary_key=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("name", sa.String(512), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("context", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(128), nullable=True),
    sa.Column("properties", Json, nullable=False),
)

logged_models = sa.Table(
    "tracking_logged_models",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "experiment_id",
        sa.String(32),
        sa.ForeignKey("tracking_experiments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("artifact_location", sa.String(1024), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("model_type", sa.String(128), nullable=True),
    sa.Column("source_run_id", sa.String(32), nullable=True),
    sa.Column("tags", Json, nullable=False),
    sa.Column("params", Json, nullable=False),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_updated_time", sa.BigInteger, nullable=False),
    sa.Index("ix_tracking_logged_models_run", "run_id"),
)
