"""Governance: the audit log (approvals and policies grow here)."""

from __future__ import annotations

from datetime import datetime

from shipyard._internal.paging import Page, decode_offset, page_of
from shipyard._internal.service import Service
from shipyard.governance.models import AuditRecord
from shipyard.security.models import ALL_TEAMS, Permission


class AuditService(Service):
    def list_records(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        asset: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Newest first. Admins see everything; others see their own records."""
        if not self.principal.is_admin:
            if principal not in (None, self.principal.name):
                self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="audit.list")
            principal = self.principal.name
        offset = decode_offset(page_token)
        with self._ctx.db.connect() as conn:
            rows = self._ctx.audit.query(
                conn,
                principal=principal,
                action=action,
                asset=asset,
                outcome=outcome,
                since=since,
                until=until,
                offset=offset,
                limit=page_size + 1,
            )
        return page_of(rows, offset, page_size)
