"""The job record: what a queued job is, as every capability's ``submit=True`` returns it.

It lives in the kernel, not in ``pipelines`` (which re-exports it), so that the lake,
feature and serving Protocols can name it without an import circle (``pipelines``
imports them).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

KIND = "job"


class JobState(StrEnum):
    QUEUED = "queued"  # waiting (new, or a retry whose backoff has not elapsed)
    RUNNING = "running"  # claimed by a worker that holds its lease
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a non-retryable error (refused function, bad arguments)
    DEAD = "dead"  # out of attempts: the dead-letter state, with the last error
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.DEAD, JobState.CANCELLED})


class Executor(StrEnum):
    INPROCESS = "inprocess"  # in the worker process: fastest, no isolation
    SUBPROCESS = "subprocess"  # a child process: resource limits, a timeout kills it
    RAY = "ray"  # a Ray task (``shipyard[ray]``): a local instance or ``jobs.ray_address``


class Job(BaseModel):
    id: str
    kind: str
    target: str
    args: dict[str, Any]
    state: JobState
    priority: int
    pool: str
    team: str
    executor: Executor
    attempts: int
    max_attempts: int
    timeout: float | None
    memory_mb: int | None
    retry_delay: float
    idempotency_key: str | None
    run_after: datetime
    lease_until: datetime | None
    worker_id: str | None
    error: str | None
    result: Any = None
    logs: str | None = None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    #: The pipeline run and step this job runs (None for a plain job).
    run_id: str | None = None
    step: str | None = None

    @property
    def asset(self) -> str:
        return f"{KIND}:{self.id}"

    @property
    def done(self) -> bool:
        return self.state in TERMINAL
