"""Quotas: what an admin caps, for whom, and how far."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class QuotaResource(StrEnum):
    """What a quota caps."""

    #: API requests per second (a moving one-second window; shared by every API worker
    #: when ``quotas.rate_storage`` is Redis).
    REQUESTS_PER_SECOND = "requests_per_second"
    #: Jobs queued or running at once.
    CONCURRENT_JOBS = "concurrent_jobs"
    #: Bytes stored in the lake (the tables' Delta files) and under the artifact root.
    STORAGE_BYTES = "storage_bytes"
    #: Deployments.
    DEPLOYMENTS = "deployments"
    #: Rows in the online store (over the team's feature views).
    ONLINE_ROWS = "online_rows"


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
