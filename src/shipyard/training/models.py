"""Training jobs and studies: what is asked for and what came of it (no I/O)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Pool of the job queue that training jobs go to (``shipyard worker --pool training``).
POOL = "training"
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]{0,127}$")
_TS = re.compile(r"^[A-Za-z0-9][\w.\-]{0,127}(@[0-9]{1,9})?$")


class Backend(StrEnum):
    SUBPROCESS = "subprocess"  # a queued job in a child process of a worker (limits enforced)
    INPROCESS = "inprocess"  # a queued job in the worker process
    RAY = "ray"  # a queued job whose function runs as a Ray task (local or remote cluster)


class Resources(BaseModel):
    """What a job needs; it waits until a worker has it, and is refused if none ever can."""

    model_config = ConfigDict(extra="forbid")

    cpus: float = Field(default=1.0, gt=0, le=1024)
    memory_mb: int | None = Field(default=None, ge=64, le=4 * 1024 * 1024)
    gpus: int = Field(default=0, ge=0, le=64)
    #: Ray Train data-parallel workers (backend ``ray``); each holds ``cpus``/``gpus``.
    workers: int | None = Field(default=None, ge=1, le=1024)


class TrainingRequest(BaseModel):
    """A training job: ``function(ctx)`` on a training set with params and resources."""

    model_config = ConfigDict(extra="forbid")

    function: str
    training_set: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    experiment: str = Field(default="training", min_length=1, max_length=256)
    run_name: str | None = Field(default=None, max_length=256)
    register_as: str | None = None
    team: str | None = None
    timeout: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    max_attempts: int = Field(default=1, ge=1, le=10)
    backend: Backend = Backend.SUBPROCESS
    ray_address: str | None = Field(default=None, max_length=512)

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        if not _TARGET.match(value) or len(value) > 512:
            raise ValueError(f"function {value!r} is not 'module:function'")
        return value

    @field_validator("training_set")
    @classmethod
    def _training_set(cls, value: str | None) -> str | None:
        if value is not None and not _TS.match(value):
            raise ValueError(f"training set {value!r} is not 'name' or 'name@version'")
        return value

    @field_validator("register_as")
    @classmethod
    def _register_as(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError(f"model name {value!r}: letters, digits, '_', '-', '.'")
        return value


class TrainingJob(BaseModel):
    """A queued, running or finished training job and its tracked run."""

    id: str
    state: str
    function: str
    team: str
    run_id: str
    experiment: str
    training_set: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    backend: Backend = Backend.SUBPROCESS
    metrics: dict[str, float] = Field(default_factory=dict)
    model_version: str | None = None
    error: str | None = None
    created_by: str
    created_at: datetime
    finished_at: datetime | None = None


class TrialResult(BaseModel):
    number: int
    state: str
    value: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    run_id: str | None = None


class Study(BaseModel):
    """A hyperparameter search: an Optuna study in the catalog DB and its parent run."""

    name: str
    direction: str
    metric: str
    parent_run_id: str
    trials: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    best: TrialResult | None = None
    model_version: str | None = None
    job_ids: list[str] = Field(default_factory=list)
