"""The audit log: written by the service layer, in the transaction of the change.

Every row is appended to a hash chain (``governance/chain.py``): the writer locks
the tail, links to the last row's hash and stores its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.paging import Key, Keyset, keyset_page
from shipyard.governance import chain
from shipyard.governance.models import AuditRecord
from shipyard.governance.tables import audit_log


class SqlAuditLog:
    def write(
        self,
        conn: Connection,
        *,
        principal: str,
        action: str,
        outcome: str,
        asset: str | None = None,
        team: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "ts": utcnow(),
            "principal": principal,
            "action": action,
            "asset": asset,
            "team": team,
            "outcome": outcome,
            "details": details or {},
        }
        chain.lock_tail(conn)
        prev = chain.tail_hash(conn)
        conn.execute(
            audit_log.insert().values(
                **fields, prev_hash=prev, row_hash=chain.row_hash(prev, **fields)
            )
        )

    def query(
        self,
        conn: Connection,
        *,
        principal: str | None = None,
        action: str | None = None,
        asset: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int,
        page_token: str | None = None,
    ) -> tuple[list[AuditRecord], str | None]:
        """One page of matching records, newest first, and the next page's token."""
        filters = {
            "principal": principal,
            "action": action,
            "asset": asset,
            "outcome": outcome,
            "since": since,
            "until": until,
        }
        q = sa.select(audit_log)
        if principal:
            q = q.where(audit_log.c.principal == principal)
        if action:
            q = q.where(audit_log.c.action.like(action.replace("*", "%")))
        if asset:
            q = q.where(audit_log.c.asset.like(asset.replace("*", "%")))
        if outcome:
            q = q.where(audit_log.c.outcome == outcome)
        if since:
            q = q.where(audit_log.c.ts >= as_utc(since))
        if until:
            q = q.where(audit_log.c.ts < as_utc(until))
        keyset = Keyset("audit.list", Key(audit_log.c.id, descending=True))
        rows, token = keyset_page(
            conn, q, keyset, limit=limit, page_token=page_token, filters=filters
        )
        return [
            AuditRecord(
                id=r.id,
                ts=as_utc(r.ts),
                principal=r.principal,
                action=r.action,
                asset=r.asset,
                team=r.team,
                outcome=r.outcome,
                details=r.details or {},
            )
            for r in rows
        ], token
