"""Audit records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditRecord(BaseModel):
    id: int
    ts: datetime
    principal: str
    action: str
    asset: str | None
    team: str | None
    outcome: str
    details: dict[str, Any] = Field(default_factory=dict)
