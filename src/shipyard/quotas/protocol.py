"""The interface of quotas: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it;
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.quotas.models import Quota, QuotaStatus


class QuotaAPI(Protocol):
    """What ``QuotaService`` offers both in-process and over HTTP."""

    def set_quota(self, scope: str, subject: str, resource: str, limit: int) -> Quota:
        """Create or replace the cap of ``resource`` for a team or principal (admins)."""
        ...

    def delete_quota(self, scope: str, subject: str, resource: str) -> Quota:
        """Lift a cap (admins); returns the quota that was removed."""
        ...

    def list_quotas(
        self,
        *,
        scope: str | None = None,
        subject: str | None = None,
        resource: str | None = None,
        with_usage: bool = False,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[QuotaStatus]:
        """Quotas the caller may see, with what each subject uses now if asked."""
        ...
