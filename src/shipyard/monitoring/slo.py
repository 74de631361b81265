"""Service-level objectives of a deployment, and their error-budget burn (no I/O).

An SLO counts **requests** of the inference log (a request's row 0; shadow calls are not
served to anyone, so they do not count): ``availability`` counts a request good when it
has no error, ``latency`` when its ``latency_ms`` is at most ``threshold_ms``. The
objective is the fraction of good requests over ``period_seconds`` (``0.99``: 99 %), so
the error budget is ``1 - objective``.

The **burn rate** of a window is its bad fraction over the budget (1.0 spends the budget
exactly over the period). Alerting follows the multi-window, multi-burn-rate rules of
the Google SRE workbook (chapter "Alerting on SLOs"): a rule fires when both its long
and its short window burn at least its rate, so an incident opens fast on a real burn
and resolves soon after it stops (the short window recovers first).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, model_validator

if TYPE_CHECKING:
    import numpy as np  # annotations only: the CLI and an idle worker load this module

SLOKind = Literal["latency", "availability"]
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
MAX_PERIOD = 366 * 86400.0


class BurnRule(BaseModel):
    """Fires when the long and the short window both burn at least ``burn_rate``."""

    long_seconds: float
    short_seconds: float
    burn_rate: float

    @property
    def label(self) -> str:
        return f"{_span(self.long_seconds)}/{_span(self.short_seconds)}>={self.burn_rate:g}x"


#: The workbook's paging rules (for a 30-day period: 2 % of the budget in an hour, 5 % in
#: six hours). Kept for any period: the burn rate is relative to the period already.
RULES = (
    BurnRule(long_seconds=3600, short_seconds=300, burn_rate=14.4),
    BurnRule(long_seconds=6 * 3600, short_seconds=1800, burn_rate=6.0),
)


def _span(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds / 60:g}m"


class SLO(BaseModel):
    """One objective of one deployment (``shipyard monitor slo-set``)."""

    deployment: str
    name: str = Field(pattern=NAME_PATTERN)
    kind: SLOKind
    #: Fraction of requests that must be good over the period, e.g. ``0.99``.
    objective: float = Field(gt=0, lt=1)
    #: ``latency`` only: a request is good when it took at most this long.
    threshold_ms: float | None = Field(default=None, gt=0, le=3_600_000)
    #: The SLO window the budget is spent over (28 days by default).
    period_seconds: float = Field(default=28 * 86400.0, ge=3600, le=MAX_PERIOD)
    #: A burn window with fewer requests does not fire (too little evidence).
    min_requests: int = Field(default=20, ge=1, le=10**9)
    owner: str = ""
    created_at: datetime | None = None
    created_by: str = ""

    @model_validator(mode="after")
    def _threshold(self) -> SLO:
        if self.kind == "latency" and self.threshold_ms is None:
            raise ValueError("a latency SLO needs threshold_ms")
        if self.kind == "availability" and self.threshold_ms is not None:
            raise ValueError("an availability SLO takes no threshold_ms")
        return self

    @property
    def budget(self) -> float:
        return 1.0 - self.objective


class BurnWindow(BaseModel):
    seconds: float
    requests: int
    bad: int
    burn_rate: float | None  # None: no request in the window


class Incident(BaseModel):
    """An episode of a deployment breaching an objective: opened, then resolved."""

    id: str
    deployment: str
    source: str  # ``slo:<name>``
    state: Literal["open", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None = None
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)


class SLOStatus(BaseModel):
    """One evaluation of one SLO at ``evaluated_at``."""

    slo: SLO
    evaluated_at: datetime
    status: Literal["ok", "burning", "no_data"]
    requests: int  # over the period
    bad: int
    #: Good fraction over the period (None: no request).
    sli: float | None
    #: Budget left over the period: 1 untouched, 0 spent, negative overspent.
    budget_remaining: float | None
    windows: list[BurnWindow]
    firing: list[str] = Field(default_factory=list)
    incident: Incident | None = None


def bad_mask(slo: SLO, latency_ms: np.ndarray, failed: np.ndarray) -> np.ndarray:
    """Which requests are bad for ``slo`` (a failed request is also bad for latency)."""
    if slo.kind == "availability":
        return failed
    slow = ~(latency_ms <= float(slo.threshold_ms or 0))  # NaN latency counts as slow
    return failed | slow


def evaluate(
    slo: SLO, end: datetime, ts_us: np.ndarray, latency_ms: np.ndarray, failed: np.ndarray
) -> SLOStatus:
    """The SLO's status at ``end`` from its requests (``ts_us``: microseconds since the
    epoch, ascending or not; ``failed``: the request errored)."""
    bad = bad_mask(slo, latency_ms, failed)
    end_us = int(end.timestamp() * 1_000_000)

    def window(seconds: float) -> BurnWindow:
        inside = ts_us >= end_us - int(seconds * 1_000_000)
        n, b = int(inside.sum()), int(bad[inside].sum())
        rate = (b / n) / slo.budget if n else None
        return BurnWindow(seconds=seconds, requests=n, bad=b, burn_rate=rate)

    period = window(slo.period_seconds)
    spans = sorted({s for r in RULES for s in (r.long_seconds, r.short_seconds)})
    windows = {s: window(s) for s in spans}
    firing = [r.label for r in RULES if _fires(r, windows, slo.min_requests)]
    longest = windows[max(r.long_seconds for r in RULES)]
    if firing:
        status: Literal["ok", "burning", "no_data"] = "burning"
    elif longest.requests < slo.min_requests:
        status = "no_data"
    else:
        status = "ok"
    sli = 1 - period.bad / period.requests if period.requests else None
    spent = (period.bad / period.requests) / slo.budget if period.requests else None
    return SLOStatus(
        slo=slo,
        evaluated_at=end,
        status=status,
        requests=period.requests,
        bad=period.bad,
        sli=sli,
        budget_remaining=None if spent is None else 1 - spent,
        windows=[period, *windows.values()],
        firing=firing,
    )


def _fires(rule: BurnRule, windows: dict[float, BurnWindow], min_requests: int) -> bool:
    """Both windows burn at least the rule's rate; the long one holds enough requests."""
    long, short = windows[rule.long_seconds], windows[rule.short_seconds]
    if long.requests < min_requests or short.requests == 0:
        return False
    return (long.burn_rate or 0) >= rule.burn_rate and (short.burn_rate or 0) >= rule.burn_rate


def scan_span(slo: SLO) -> timedelta:
    """How far back an evaluation reads: the period or the longest rule window."""
    return timedelta(seconds=max(slo.period_seconds, *(r.long_seconds for r in RULES)))
