"""Registry entities. No I/O here."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

#: Aliases that need an approved promotion unless a policy says otherwise.
DEFAULT_PROTECTED_ALIASES = ("champion",)


class RegisteredModel(BaseModel):
    name: str
    owner: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_version: int | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime


class ModelVersion(BaseModel):
    name: str
    version: int
    source: str
    storage_location: str
    run_id: str | None = None
    status: str = "READY"
    description: str = ""
    flavor: str | None = None
    signature: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    aliases: list[str] = Field(default_factory=list)
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def ref(self) -> str:
        return f"model:{self.name}@{self.version}"


class PromotionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    #: The alias is not protected: applied at once, no approval needed.
    APPLIED = "applied"


class PromotionRequest(BaseModel):
    """A request to point ``alias`` of model ``name`` at ``version``."""

    id: str
    name: str
    alias: str
    version: int
    status: PromotionStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == PromotionStatus.PENDING


class AliasEvent(BaseModel):
    """One change of an alias: which version held it from when, who asked, who approved."""

    name: str
    alias: str
    version: int | None
    previous_version: int | None
    action: str  # set | delete
    principal: str
    approved_by: str | None = None
    request_id: str | None = None
    at: datetime


class AliasPolicy(BaseModel):
    """Governance of one alias (``name="*"``: every model without its own policy)."""

    name: str = "*"
    alias: str
    protected: bool = True
    require_signature: bool = False
    metric: str | None = None
    min_value: float | None = None
