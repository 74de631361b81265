"""Environments and promotion requests: value objects, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Environment(BaseModel):
    """One environment of the project and where its state lives."""

    name: str
    current: bool = False
    protected: bool = False
    #: The environment this one promotes into (None for the last).
    next: str | None = None
    catalog: str
    lake_root: str
    artifact_root: str
    online: str


class DefinitionsPlan(BaseModel):
    """What promoting the current environment's definitions into ``target`` would change.

    ``resources`` holds every change, of every kind platform as code knows (ADR 0027):
    teams, quotas, lake table definitions, features, pipelines, monitors, deployments
    and their traffic, vector indexes. ``features``, ``pipelines`` and ``vectors`` are
    the same changes in those kinds' own shapes. ``refused`` says, one line each, what
    the target cannot take (a reference missing there) and is left out of the plan.
    ``digest`` names this plan: ``promote_definitions`` refuses a digest that no longer
    matches (the source or the target changed since the review).
    """

    source: str
    target: str
    digest: str
    resources: list[dict[str, Any]] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)
    features: dict[str, Any] = Field(default_factory=dict)
    pipelines: list[dict[str, Any]] = Field(default_factory=list)
    vectors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def changes(self) -> int:
        return sum(1 for c in self.resources if c.get("action") != "unchanged")


class EnvPromotion(BaseModel):
    """A promotion into this environment: applied at once, or pending an approver."""

    id: str
    kind: str  # "model" or "definitions"
    source: str
    target: str
    team: str
    subject: str
    status: str  # pending, approved, rejected, applied
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    result: dict[str, Any] | None = None
