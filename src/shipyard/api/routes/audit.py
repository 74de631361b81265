"""The audit log, made from its operation table (``shipyard.governance.ops``)."""

from __future__ import annotations

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.governance.models import ChainReport
from shipyard.governance.ops import OPS
from shipyard.governance.protocol import AuditAPI

router = CapabilityRouter(tags=["audit"])
mount(router, "audit", AuditAPI, OPS)


@router.get("/audit/verify", operation_id="verify_audit_get")
@router.post("/audit/verify", operation_id="verify_audit")
def verify_audit(platform: Caller) -> ChainReport:
    """Walk the audit log's hash chain (admins); ``ok`` false names the first bad row."""
    return platform.audit.verify()
