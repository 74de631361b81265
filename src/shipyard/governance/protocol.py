"""The interface of audit: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.governance.models import AuditRecord, ChainReport


class AuditAPI(Protocol):
    """What ``AuditService`` offers both in-process and over HTTP."""

    def list_records(
        self,
        *,
        principal: str | None = None,
        action: str | None = None,
        asset: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[AuditRecord]:
        """Audit records, newest first, filtered."""
        ...

    def verify(self) -> ChainReport:
        """Walk the audit log's hash chain and report the first row that breaks it."""
        ...
