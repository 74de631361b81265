"""Quotas in the metadata database (SQLite and PostgreSQL share this code)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import utcnow
from shipyard.quotas.models import Quota, QuotaResource, QuotaScope
from shipyard.quotas.tables import quotas


def _row(r: sa.Row) -> Quota:
    return Quota(
        scope=QuotaScope(r.scope),
        subject=r.subject,
        resource=QuotaResource(r.resource),
        limit=int(r.limit),
        updated_by=r.updated_by,
        updated_at=r.updated_at,
    )


class SqlQuotaStore:
    """Stores and fetches quotas; the service decides who may and what they mean."""

    def put(self, conn: Connection, quota: Quota, *, by: str) -> Quota:
        """Create or replace the quota of (scope, subject, resource)."""
        values = {"limit": quota.limit, "updated_by": by, "updated_at": utcnow()}
        where = (
            (quotas.c.scope == quota.scope.value)
            & (quotas.c.subject == quota.subject)
            & (quotas.c.resource == quota.resource.value)
        )
        # UPDATE then INSERT: portable, and the caller's transaction serialises writers.
        if conn.execute(quotas.update().where(where).values(**values)).rowcount == 0:
            conn.execute(
                quotas.insert().values(
                    scope=quota.scope.value,
                    subject=quota.subject,
                    resource=quota.resource.value,
                    **values,
                )
            )
        return quota.model_copy(update=values)

    def delete(self, conn: Connection, scope: str, subject: str, resource: str) -> bool:
        """Remove a quota; False when there was none."""
        gone = conn.execute(
            quotas.delete().where(
                (quotas.c.scope == scope)
                & (quotas.c.subject == subject)
                & (quotas.c.resource == resource)
            )
        )
        return gone.rowcount > 0

    def list(
        self,
        conn: Connection,
        *,
        teams: list[str] | None = None,
        principal: str | None = None,
        resource: str | None = None,
    ) -> list[Quota]:
        """Quotas ordered by (scope, subject, resource). ``teams``/``principal`` given:
        only the quotas of those teams and of that principal."""
        q = sa.select(quotas).order_by(quotas.c.scope, quotas.c.subject, quotas.c.resource)
        if teams is not None:
            mine = (quotas.c.scope == QuotaScope.TEAM.value) & quotas.c.subject.in_(teams)
            if principal is not None:
                mine = mine | (
                    (quotas.c.scope == QuotaScope.PRINCIPAL.value) & (quotas.c.subject == principal)
                )
            q = q.where(mine)
        if resource is not None:
            q = q.where(quotas.c.resource == resource)
        return [_row(r) for r in conn.execute(q)]

    def limits(self, conn: Connection) -> dict[tuple[str, str, str], int]:
        """Every quota as ``{(scope, subject, resource): limit}`` (what the gate caches)."""
        q = sa.select(quotas.c.scope, quotas.c.subject, quotas.c.resource, quotas.c.limit)
        return {(r.scope, r.subject, r.resource): int(r.limit) for r in conn.execute(q)}
