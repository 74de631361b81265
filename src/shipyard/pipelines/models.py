"""Jobs: what is queued, and the states a job moves through."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shipyard._internal.job import KIND as KIND
from shipyard._internal.job import TERMINAL as TERMINAL
from shipyard._internal.job import Executor as Executor
from shipyard._internal.job import Job as Job
from shipyard._internal.job import JobState as JobState
from shipyard.errors import InvalidArgument

#: Serialized ``args`` at most (jobs pass small values and references, not data).
MAX_ARGS_BYTES = 64 * 1024
#: Captured output kept in the job record (the tail, per job).
MAX_LOG_CHARS = 64 * 1024
#: Longest retry delay, whatever the attempt.
MAX_BACKOFF_SECONDS = 3600.0
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]{0,127}$")


def wait_for(get: Callable[[str], Job], job_id: str, timeout: float) -> Job:
    """``get(job_id)`` until the job has ended or ``timeout`` seconds have passed (then
    the job as it is); polls every 20 ms, backing off to 0.5 s."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        job = get(job_id)
        if job.state in TERMINAL or time.monotonic() >= deadline:
            return job
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, 0.5)


class JobSpec(BaseModel):
    """What to run and how: ``target`` is an allowed ``module:function``."""

    model_config = ConfigDict(extra="forbid")

    target: str
    args: dict[str, Any] = Field(default_factory=dict)
    kind: str = "function"
    priority: int = Field(default=0, ge=-1000, le=1000)
    max_attempts: int = Field(default=3, ge=1, le=100)
    timeout: float | None = Field(default=None, gt=0)
    #: Subprocess executor only: address-space limit of the child.
    memory_mb: int | None = Field(default=None, ge=16)
    #: Base of the exponential backoff between attempts, in seconds.
    retry_delay: float = Field(default=1.0, ge=0, le=MAX_BACKOFF_SECONDS)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=256)
    pool: str = "default"
    team: str | None = None
    executor: Executor = Executor.SUBPROCESS

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if not _TARGET.match(value) or len(value) > 512:
            raise ValueError(f"target {value!r} is not 'module:function'")
        return value

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"pool {value!r}: letters, digits, '_', '-', '.' (128 at most)")
        return value

    def checked_args(self) -> dict[str, Any]:
        try:
            size = len(json.dumps(self.args, separators=(",", ":")))
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"job args are not JSON: {exc}") from None
        if size > MAX_ARGS_BYTES:
            raise InvalidArgument(
                f"job args are {size} bytes; at most {MAX_ARGS_BYTES} (pass references, not data)"
            )
        return self.args


def backoff_seconds(attempt: int, base: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``base * 2**(attempt-1)``, scaled by [0.5, 1.0)."""
    delay = min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempt - 1))
    return delay * (0.5 + 0.5 * (rng or random).random())


def tail(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_LOG_CHARS:
        return text
    return "[... truncated]\n" + text[-MAX_LOG_CHARS:]
