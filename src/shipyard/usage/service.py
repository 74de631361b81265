"""``UsageService``: meter usage into ``system.usage`` and price it.

Workers record what each job used (``record_jobs``); ``meter`` turns one hour into
rows of the lake table ``system.usage`` (admins; the scheduler or cron runs it each
hour); ``report`` sums a month by team, principal, resource or kind and prices it
with ``usage.prices``. Everyone may report on the teams they can read; the idle
capacity line and other teams' rows are for admins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from shipyard._internal.clock import utcnow
from shipyard._internal.identity import ALL_TEAMS, Permission, Principal, Role
from shipyard._internal.paging import readable_teams
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound
from shipyard.usage import meter as m
from shipyard.usage.models import (
    METRICS,
    USAGE_TABLE,
    JobUsage,
    MeterResult,
    UsageLine,
    UsageReport,
    usage_schema,
)
from shipyard.usage.tables import usage_gauges, usage_records

if TYPE_CHECKING:
    from shipyard.features.backends.base import OnlineStore
    from shipyard.lake.service import LakeService
    from shipyard.storage.base import ArtifactStore

#: Who writes and reads ``system.usage`` for the service (admins and teams go through it).
USAGE_PRINCIPAL = Principal(id="usage", name="usage", kind="service", roles={ALL_TEAMS: Role.ADMIN})
GROUPS = ("team", "principal", "resource", "kind")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _month_range(month: str | None) -> tuple[str, datetime, datetime]:
    if month is None:
        month = utcnow().strftime("%Y-%m")
    found = _MONTH.match(month) if isinstance(month, str) else None
    if found is None:
        raise InvalidArgument("month must be YYYY-MM", month=str(month)[:20])
    start = datetime(int(found[1]), int(found[2]), 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return month, start, end


def _hour(hour: datetime | None) -> datetime:
    if hour is None:  # the last complete hour
        return (utcnow() - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    if hour.tzinfo is None:
        hour = hour.replace(tzinfo=UTC)
    return hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class UsageService(Service):
    """Usage metering and chargeback.

    Example:
        >>> p.usage.meter()
        >>> p.usage.report(by="team", month="2026-12").lines
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        lake: Callable[[], LakeService],
        artifacts: Callable[[], ArtifactStore],
        online: Callable[[], OnlineStore],
    ) -> None:
        super().__init__(ctx)
        self._lake = lake  # acting as USAGE_PRINCIPAL
        self._artifacts = artifacts
        self._online = online

    # -- recording (workers) ---------------------------------------------------------------

    def record_jobs(self, records: Sequence[JobUsage | dict[str, Any]]) -> int:
        """Store what finished jobs used (workers call it; not an audited change:
        it is a measurement of work already audited when it was submitted)."""
        if not records:
            return 0
        now = utcnow()
        parsed = [JobUsage.model_validate(r) for r in records]
        with self._ctx.db.begin() as conn:
            conn.execute(
                usage_records.insert(),
                [{**r.model_dump(exclude={"ts"}), "ts": r.ts or now} for r in parsed],
            )
        return len(records)

    # -- metering ------------------------------------------------------------------------

    def meter(self, hour: datetime | None = None) -> MeterResult:
        """Write the ``system.usage`` rows of one hour (default: the last complete one).

        Metering an hour again is a no-op (``skipped``): its rows are written once.

        Raises:
            PermissionDenied: the caller is not an admin of every team.
        """
        start = _hour(hour)
        if start + m.HOUR > utcnow() + timedelta(minutes=1):
            raise InvalidArgument(f"hour {start.isoformat()} has not ended yet")
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="usage.meter")
        if self._metered(start):
            return MeterResult(hour=start, rows=0, skipped=True)
        with self._ctx.mutation(
            "usage.meter", team=ALL_TEAMS, asset=f"table:{USAGE_TABLE}", permission=Permission.ADMIN
        ) as mut:
            rows = self._measure(start, mut.conn)
            mut.details = {"hour": start.isoformat(), "rows": len(rows)}
        import pyarrow as pa

        table = pa.Table.from_pylist(rows, schema=usage_schema())
        # The batch id makes a second writer of the same hour (a race) a no-op.
        self._lake().write(
            USAGE_TABLE,
            table,
            batch_id=f"usage-{start:%Y%m%dT%H}",
            owner=ALL_TEAMS,
            description="Metered usage: one row per team, principal, resource and hour",
        )
        idle = next(r["cpu_seconds"] for r in rows if r["kind"] == "idle")
        return MeterResult(
            hour=start,
            rows=len(rows),
            idle_cpu_seconds=idle,
            cpu_seconds=sum(r["cpu_seconds"] for r in rows if r["kind"] != "idle"),
        )

    def _metered(self, start: datetime) -> bool:
        found = self._sql(
            f"SELECT count(*) AS n FROM {USAGE_TABLE} WHERE hour = TIMESTAMPTZ '{start.isoformat()}'"
        )
        return bool(found) and int(found[0]["n"]) > 0

    def _measure(self, start: datetime, conn: sa.Connection) -> list[m.Row]:
        from shipyard.tracking.tables import experiments

        rows = m.job_rows(conn, start) + m.table_rows(conn, start)
        rows += m.deployment_rows(self._sql, m.deployment_owners(conn), start)
        owners = {
            x.id: x.owner for x in conn.execute(sa.select(experiments.c.id, experiments.c.owner))
        }
        s = self._ctx.settings.artifacts
        roots = m.artifact_roots(
            self._artifacts(), owners, max_entries=s.list_max_entries, max_depth=s.list_max_depth
        )
        conn.execute(usage_gauges.delete().where(usage_gauges.c.metric == "artifact_bytes"))
        if roots:
            now = utcnow()
            conn.execute(
                usage_gauges.insert(),
                [
                    {
                        "team": t,
                        "metric": "artifact_bytes",
                        "subject": r,
                        "value": b,
                        "measured_at": now,
                    }
                    for r, t, b in roots
                ],
            )
        rows += [
            m.row(start, t, m.NOBODY, "artifacts", f"artifacts:{r}", stored_bytes=b)
            for r, t, b in roots
        ]
        rows += m.online_rows(self._online(), m.view_namespaces(conn), start)
        rows.append(m.idle_row(start, rows, self._ctx.settings.usage.capacity_cores))
        return rows

    def _sql(self, query: str) -> list[dict[str, Any]]:
        try:
            return self._lake().sql(query).to_pylist()
        except NotFound:
            return []  # the table was never written (no predictions, no usage yet)

    # -- reports -------------------------------------------------------------------------

    def report(
        self, *, by: str = "team", month: str | None = None, team: str | None = None
    ) -> UsageReport:
        """A month of ``system.usage`` summed per ``by`` (team, principal, resource, kind)
        and priced with ``usage.prices``.

        Raises:
            InvalidArgument: an unknown ``by`` or a month not ``YYYY-MM``.
            PermissionDenied: ``team`` given and the caller may not read it.
        """
        if by not in GROUPS:
            raise InvalidArgument(f"unknown grouping {str(by)[:40]!r}: one of {list(GROUPS)}")
        month, start, end = _month_range(month)
        if team is not None:
            self._ctx.require(Permission.READ, team, action="usage.report")
            teams: list[str] | None = [team]
        else:
            teams = readable_teams(self.principal)
            if teams == []:
                self._ctx.require(Permission.READ, self._ctx.default_team, action="usage.report")
        rows = self._rows(start, end, teams)
        return self._price(month, by, rows)

    def _rows(
        self, start: datetime, end: datetime, teams: list[str] | None
    ) -> list[dict[str, Any]]:
        where = (
            f"hour >= TIMESTAMPTZ '{start.isoformat()}' AND hour < TIMESTAMPTZ '{end.isoformat()}'"
        )
        if teams is not None:  # names were checked by security; quote them anyway
            quoted = ", ".join("'" + t.replace("'", "''") + "'" for t in teams) or "NULL"
            where += f" AND team IN ({quoted})"
        return self._sql(f"SELECT * FROM {USAGE_TABLE} WHERE {where}")

    def _price(self, month: str, by: str, rows: list[dict[str, Any]]) -> UsageReport:
        prices = self._ctx.settings.usage.prices
        hours = len({r["hour"] for r in rows})
        groups: dict[str, UsageLine] = {}
        totals: dict[str, dict[str, float]] = {}
        for r in rows:
            key = str(r[by])
            line = groups.setdefault(key, UsageLine(key=key))
            t = totals.setdefault(key, dict.fromkeys(METRICS, 0.0))
            for metric in METRICS:
                t[metric] += float(r[metric] or 0)
            line.peak_memory_bytes = max(line.peak_memory_bytes, int(r["peak_memory_bytes"] or 0))
        for key, line in groups.items():
            t = totals[key]
            line.cpu_seconds, line.compute_seconds = t["cpu_seconds"], t["compute_seconds"]
            line.requests = int(t["requests"])
            line.stored_bytes = t["stored_bytes"] / max(hours, 1)
            line.online_rows = t["online_rows"] / max(hours, 1)
            metered = {**t, "peak_memory_bytes": float(line.peak_memory_bytes)}
            line.cost = round(sum(prices.get(k, 0.0) * v for k, v in metered.items()), 6)
        lines = sorted(groups.values(), key=lambda x: (x.key == m.NOBODY, x.key))
        return UsageReport(
            month=month,
            by=by,
            currency=self._ctx.settings.usage.currency,
            hours=hours,
            lines=lines,
            total_cost=round(sum(x.cost for x in lines), 6),
        )
