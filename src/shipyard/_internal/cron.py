"""Cron schedules in a time zone (``cronsim``): validation and the ticks in a window
(pipelines and feature views with a materialization schedule).

Ticks are computed in the schedule's zone (so ``0 3 * * *`` in Europe/Paris is 03:00
local, across DST changes) and answered in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shipyard.errors import BackendUnavailable, InvalidArgument

#: Ticks one catch-up may produce at most (``catchup: all`` after a long outage).
MAX_CATCHUP = 1000


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(f"unknown time zone {name!r}") from None


def _module() -> Any:
    # Imported here: only pipelines with a schedule need it.
    try:
        import cronsim
    except ImportError:  # a dependency of shipyard; an environment may lack it
        raise BackendUnavailable(
            "cron schedules need the 'cronsim' package (pip install cronsim)"
        ) from None
    return cronsim


def _cronsim(expr: str, start: datetime) -> Any:
    return _module().CronSim(expr, start)


def check(expr: str, tz: str) -> None:
    """Refuse a malformed expression or zone (``InvalidArgument`` with the reason)."""
    CronSimError = _module().CronSimError

    zone(tz)
    try:
        _cronsim(expr, datetime(2026, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise InvalidArgument(f"bad cron {expr!r}: {exc}") from None


def ticks(
    expr: str, tz: str, after: datetime, until: datetime, limit: int = MAX_CATCHUP
) -> list[datetime]:
    """Tick instants in (``after``, ``until``], oldest first, at most ``limit`` (the newest)."""
    local = after.astimezone(zone(tz))
    out: list[datetime] = []
    for t in _cronsim(expr, local):
        tu = t.astimezone(UTC)
        if tu > until:
            break
        out.append(tu)
        if len(out) > limit:
            out.pop(0)
    return out


def next_tick(expr: str, tz: str, after: datetime) -> datetime:
    return next(iter(_cronsim(expr, after.astimezone(zone(tz))))).astimezone(UTC)


def last_tick(expr: str, tz: str, at: datetime) -> datetime:
    """The newest tick before ``at`` (UTC)."""
    return next(iter(_module().CronSim(expr, at.astimezone(zone(tz)), reverse=True))).astimezone(
        UTC
    )
