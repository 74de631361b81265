"""Tracking entities: experiments, runs and what runs record. No I/O here."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shipyard.storage.base import FileInfo as FileInfo  # runs list their artifacts


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class Experiment(BaseModel):
    id: str
    name: str
    owner: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE.value
    tags: dict[str, str] = Field(default_factory=dict)
    created_by: str
    creation_time: int
    last_update_time: int


class Metric(BaseModel):
    key: str
    value: float
    step: int = 0
    timestamp: int

    @property
    def is_nan(self) -> bool:
        return math.isnan(self.value)


class RunInput(BaseModel):
    """A dataset the run read: a catalog asset with its exact version."""

    ref: str
    kind: str
    name: str
    version: int | None = None
    context: str = "training"
    digest: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class Run(BaseModel):
    id: str
    experiment_id: str
    name: str
    owner: str
    user: str
    status: RunStatus
    lifecycle_stage: str = LifecycleStage.ACTIVE.value
    parent_run_id: str | None = None
    start_time: int
    end_time: int | None = None
    artifact_uri: str
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[RunInput] = Field(default_factory=list)
    latest_metrics: list[Metric] = Field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"run:{self.id}"


class MetricBuckets(BaseModel):
    """One metric of several runs over ``count`` step ranges shared by every run.

    ``runs[run_id]`` is ``[(bucket, lowest value, highest value)]`` for the buckets the
    run has values in (NaN left out); bucket ``b`` holds steps from ``start + b * width``.
    ``coarse``: read from the rollup (blocks of 16 steps, each counted in the bucket of
    its first step), so a bucket's edges are off by up to 15 steps.
    """

    key: str
    start: int
    width: float
    count: int
    runs: dict[str, list[tuple[int, float, float]]]
    coarse: bool = False


class RunComparison(BaseModel):
    """Params and metrics of several runs side by side (``None`` = not logged)."""

    run_ids: list[str]
    run_names: list[str]
    params: dict[str, list[str | None]]
    metrics: dict[str, list[float | None]]
    differing_params: list[str]


class LoggedModel(BaseModel):
    """A model saved under a run's artifacts (what ``log_model`` wrote)."""

    id: str
    experiment_id: str
    run_id: str | None
    name: str
    artifact_location: str
    status: str
    model_type: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    creation_time: int
    last_updated_time: int
    flavor: str | None = None
    signature: dict[str, Any] | None = None
    model_uri: str | None = None
