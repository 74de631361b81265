"""Governance: the audit log (approvals and policies grow here)."""

from __future__ import annotations

from datetime import datetime

from shipyard._internal.paging import Page, resolve_limit
from shipyard._internal.service import Service, ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.governance import chain
from shipyard.governance.audit import SqlAuditLog
from shipyard.governance.models import AuditRecord, ChainReport
from shipyard.security.models import ALL_TEAMS, Permission

#: How an audited call ended.
OUTCOMES = ("ok", "denied", "error")


class AuditService(Service):
    """Reads the audit log the service layer writes (see ``ServiceContext.mutation``)."""

    def __init__(self, ctx: ServiceContext, *, log: SqlAuditLog) -> None:
        super().__init__(ctx)
        self._log = log

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
        """Audit records, newest first, filtered.

        Admins see everything; everyone else sees only their own records.

        Args:
            principal: only this principal's records.
            action: action name; ``*`` is a wildcard (``catalog.*``).
            asset: asset ref; ``*`` is a wildcard (``table:bronze.*``).
            outcome: ``ok``, ``denied`` or ``error``.
            since: records at or after this time (naive means UTC).
            until: records before this time.
            limit: rows per page (default and maximum from ``Settings.paging``).
            page_token: ``next_page_token`` of the previous page.

        Returns:
            A page of ``AuditRecord`` with the token of the next page, if any.

        Raises:
            PermissionDenied: a non-admin asking for someone else's records (audited).
            InvalidArgument: a bad outcome, page size or page token.
        """
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidArgument(
                f"outcome is one of {', '.join(OUTCOMES)}, not '{outcome}'", outcome=outcome
            )
        size = resolve_limit(self._ctx.settings, limit)
        if not self.principal.is_admin:
            if principal not in (None, self.principal.name):
                self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="audit.list")
            principal = self.principal.name
        with self._ctx.db.connect() as conn:
            rows, token = self._log.query(
                conn,
                principal=principal,
                action=action,
                asset=asset,
                outcome=outcome,
                since=since,
                until=until,
                limit=size,
                page_token=page_token,
            )
        return Page(items=rows, next_page_token=token)

    def verify(self) -> ChainReport:
        """Walk the audit log's hash chain and report the first row that breaks it.

        Returns:
            ``ok`` with the rows checked and the head (last id and hash), or the first
            edited, deleted, inserted or reordered row (``problem``: id, kind, message).

        Raises:
            PermissionDenied: the caller is not an admin (audited).
        """
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="audit.verify")
        with self._ctx.db.connect() as conn:
            return chain.verify(conn)
