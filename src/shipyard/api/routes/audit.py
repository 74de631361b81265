"""The audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter

from shipyard._internal.paging import Page
from shipyard.api.deps import Caller
from shipyard.api.params import PageSize
from shipyard.governance.models import AuditRecord, ChainReport

router = APIRouter(tags=["audit"])


@router.get("/audit")
def list_audit(
    platform: Caller,
    principal: str | None = None,
    action: str | None = None,
    asset: str | None = None,
    outcome: Literal["ok", "denied", "error"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: PageSize | None = None,
    page_token: str | None = None,
) -> Page[AuditRecord]:
    return platform.audit.list_records(
        principal=principal,
        action=action,
        asset=asset,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        page_token=page_token,
    )


@router.get("/audit/verify", operation_id="verify_audit_get")
@router.post("/audit/verify", operation_id="verify_audit")
def verify_audit(platform: Caller) -> ChainReport:
    """Walk the audit log's hash chain (admins); ``ok`` false names the first bad row."""
    return platform.audit.verify()
