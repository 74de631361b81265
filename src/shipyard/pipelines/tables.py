"""The durable job queue: one row per job in the metadata database."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard._internal.db import Json, UtcDateTime, metadata

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("target", sa.String(512), nullable=False),
    sa.Column("args", Json, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("pool", sa.String(128), nullable=False),
    sa.Column("team", sa.String(128), nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("timeout_seconds", sa.Float, nullable=True),
    sa.Column("memory_mb", sa.Integer, nullable=True),
    sa.Column("retry_delay", sa.Float, nullable=False),
    sa.Column("idempotency_key", sa.String(256), nullable=True),
    #: Claimable from this instant (now for a new job, later for a retry in backoff).
    sa.Column("run_after", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("worker_id", sa.String(128), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result", Json, nullable=True),
    sa.Column("logs", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=True),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("team", "idempotency_key", name="uq_jobs_team_key"),
)
#: Claim order is priority DESC, run_after ASC: the index holds it in that order, so
#: a claim reads the first rows instead of sorting the backlog.
sa.Index("ix_jobs_claim", jobs.c.state, jobs.c.pool, jobs.c.priority.desc(), jobs.c.run_after)
sa.Index("ix_jobs_lease", jobs.c.state, jobs.c.lease_until)
#: The pipeline run a step job belongs to (None for a plain job), and its step.
jobs.append_column(sa.Column("run_id", sa.String(32), nullable=True))
jobs.append_column(sa.Column("step", sa.String(100), nullable=True))
#: The scheduler's reconcile pass reads step jobs that ended since its last pass.
sa.Index("ix_jobs_finished", jobs.c.finished_at, jobs.c.run_id)

#: One row per pipeline run: the spec it runs (a snapshot) and each step's state.
pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("pipeline", sa.String(100), nullable=False),
    sa.Column("pipeline_version", sa.Integer, nullable=False),
    sa.Column("team", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    #: manual, schedule, backfill, table or topic.
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("trigger_key", sa.String(300), nullable=True),
    sa.Column("partition", sa.String(32), nullable=True),
    sa.Column("backfill_id", sa.String(32), nullable=True),
    sa.Column("spec", Json, nullable=False),
    #: {step: {"state": ..., "job": job id}}.
    sa.Column("steps", Json, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
)
sa.Index("ix_pipeline_runs_pipeline", pipeline_runs.c.pipeline, pipeline_runs.c.created_at)
sa.Index("ix_pipeline_runs_state", pipeline_runs.c.state)
sa.Index("ix_pipeline_runs_backfill", pipeline_runs.c.backfill_id)

#: A schedule or trigger tick fires once: its key is unique per pipeline, so two
#: schedulers racing on one tick insert one row and start one run.
pipeline_ticks = sa.Table(
    "pipeline_ticks",
    metadata,
    sa.Column("pipeline", sa.String(100), primary_key=True),
    sa.Column("tick_key", sa.String(300), primary_key=True),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

#: How far the scheduler has looked, per pipeline and source (cron, table:<name>,
#: topic:<name>): the last tick considered, the table version or topic offset seen.
pipeline_cursors = sa.Table(
    "pipeline_cursors",
    metadata,
    sa.Column("pipeline", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(300), primary_key=True),
    sa.Column("position", sa.String(64), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
