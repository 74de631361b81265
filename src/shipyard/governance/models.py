"""Audit records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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


class ChainProblem(BaseModel):
    """The first row of the audit log that breaks its hash chain."""

    id: int
    kind: Literal["edited", "deleted", "inserted", "reordered"]
    message: str


class ChainReport(BaseModel):
    """The outcome of walking the audit log's hash chain.

    ``head_id``/``head_hash``: the last row that verified; keep the hash elsewhere
    to detect a later truncation or rewrite of the whole chain.
    """

    ok: bool
    rows_checked: int
    head_id: int | None = None
    head_hash: str | None = None
    problem: ChainProblem | None = None
