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

    ``digest`` names this plan: ``promote_definitions`` refuses a digest that no longer
    matches (the source or the target changed since the review).
    """

    source: str
    target: str
    digest: str
    features: dict[str, Any] = Field(default_factory=dict)
    pipelines: list[dict[str, Any]] = Field(default_factory=list)
    vectors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def changes(self) -> int:
        pending = [c for c in self.features.get("changes", []) if c.get("action") != "unchanged"]
        rest = [c for c in (*self.pipelines, *self.vectors) if c.get("action") != "unchanged"]
        return len(pending) + len(rest)


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
