"""Quotas: what an admin caps, for whom, and how far."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shipyard._internal.quota import QuotaResource

__all__ = ["Quota", "QuotaResource", "QuotaScope", "QuotaStatus"]


class QuotaScope(StrEnum):
    TEAM = "team"
    PRINCIPAL = "principal"


#: Names a team or principal may have (as in ``security``), checked before any lookup.
SUBJECT_PATTERN = r"^[A-Za-z0-9_.@-]{1,128}$"


class Quota(BaseModel):
    """One cap: ``limit`` of ``resource`` for the team or principal ``subject``."""

    scope: QuotaScope
    subject: str = Field(pattern=SUBJECT_PATTERN)
    resource: QuotaResource
    limit: int = Field(ge=0, le=2**62)
    updated_by: str = ""
    updated_at: datetime | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.scope.value, self.subject, self.resource.value)


class QuotaStatus(BaseModel):
    """A quota with what its subject uses now (``None``: not measured on demand)."""

    quota: Quota
    used: float | None = None
