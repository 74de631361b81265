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
