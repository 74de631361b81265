"""The request-path check: a cached copy of the quota table plus the rate limiter.

``QuotaGate`` is built once per platform (``Platform.quota_gate``) and asked by the
API's authentication dependency for every request: with no rate quota for the
caller it is one dict lookup per team (a few microseconds); with one, a ``limits``
hit (in memory: ~3 µs; in Redis: one round trip, ~0.1 ms). The quota table is kept
in memory and read again in a background thread once it is ``quotas.cache_seconds``
old (at once in the process where an admin changed it), so a request never waits
on the catalog for it.

A refusal raises ``QuotaExceeded`` with the limit hit and ``retry_after``; it is
audited once per ``quotas.audit_window_seconds`` per (scope, subject, resource),
the next record carrying how many refusals it stands for (``details.suppressed``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shipyard._internal.clock import utcnow
from shipyard._internal.identity import ALL_TEAMS, Principal
from shipyard.errors import BackendUnavailable, QuotaExceeded, ShipyardError
from shipyard.quotas.models import QuotaResource, QuotaScope
from shipyard.quotas.store import SqlQuotaStore
from shipyard.security.refusals import RefusalLimiter

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard._internal.service import AuditWriter
    from shipyard.quotas.backends.base import RateLimiter

log = logging.getLogger("shipyard.quotas")
RPS = QuotaResource.REQUESTS_PER_SECOND.value
Limits = dict[tuple[str, str, str], int]


class QuotaGate:
    """What every request and every quota check consults; one per platform."""

    def __init__(
        self,
        db: Database,
        audit: AuditWriter,
        limiter: RateLimiter,
        *,
        cache_seconds: float = 1.0,
        audit_window: float = 60.0,
        retry_after: float = 60.0,
    ) -> None:
        self.db = db
        self.audit = audit
        self.limiter = limiter
        self.store = SqlQuotaStore()
        self.cache_seconds = cache_seconds
        self.retry_after = retry_after
        self.refusals = RefusalLimiter(window=timedelta(seconds=audit_window))
        self._limits: Limits = {}
        self._loaded = -math.inf
        self._lock = threading.Lock()
        self._refreshing = threading.Event()
        self._warned = -math.inf

    # -- the cached table ---------------------------------------------------------------

    def limits(self) -> Limits:
        """The quota table as of at most ``cache_seconds`` ago.

        Read on the caller's thread only the first time (and after ``invalidate``); a
        copy that has merely aged is served while one background thread reads the next,
        so no request waits on the catalog once the table is loaded.
        """
        age = time.monotonic() - self._loaded
        if age >= self.cache_seconds:
            if self._loaded == -math.inf or self.cache_seconds == 0:  # 0: no cache at all
                self._reload()
            elif not self._refreshing.is_set():
                self._refreshing.set()
                threading.Thread(target=self._refresh, name="quota-cache", daemon=True).start()
        return self._limits

    def _reload(self) -> None:
        with self._lock:
            started = time.monotonic()
            with self.db.connect() as conn:
                table = self.store.limits(conn)
            if self._loaded < started:  # never replace a newer read with an older one
                self._limits, self._loaded = table, started

    def _refresh(self) -> None:
        try:
            self._reload()
        except Exception:  # the catalog is down: keep the last table, retry on a later request
            log.warning("quota table not refreshed", exc_info=True)
        finally:
            self._refreshing.clear()

    def invalidate(self) -> None:
        """Read the table again on the next check (an admin just changed it)."""
        self._loaded = -math.inf

    def limit_for(self, scope: QuotaScope, subject: str, resource: QuotaResource) -> int | None:
        return self.limits().get((scope.value, subject, resource.value))

    # -- requests per second ------------------------------------------------------------

    def admit_request(self, principal: Principal) -> None:
        """Count one API request of ``principal``; raise ``QuotaExceeded`` past a rate quota.

        The principal's own quota is checked first, then each team it has a role on
        (a role on every team, ``*``, is not a team). A refused request is not counted.
        """
        table = self.limits()
        if not table:
            return
        subjects = [(QuotaScope.PRINCIPAL, principal.name)]
        subjects += [(QuotaScope.TEAM, t) for t in principal.roles if t != ALL_TEAMS]
        for scope, subject in subjects:
            limit = table.get((scope.value, subject, RPS))
            if limit is None:
                continue
            try:
                wait = self.limiter.hit(f"rps:{scope.value}:{subject}", limit)
            except BackendUnavailable as exc:
                self._storage_down(exc)
                return  # fail open: an outage of the count must not take the API down
            if wait is not None:
                raise self.refuse(
                    principal.name, scope, subject, QuotaResource.REQUESTS_PER_SECOND, limit, wait
                )

    def _storage_down(self, exc: BackendUnavailable) -> None:
        now = time.monotonic()
        if now - self._warned >= 60:  # one line a minute, not one per request
            self._warned = now
            log.warning("rate quotas not enforced: %s", exc.message)

    # -- refusals -------------------------------------------------------------------------

    def refuse(
        self,
        caller: str,
        scope: QuotaScope,
        subject: str,
        resource: QuotaResource,
        limit: int,
        retry_after: float | None = None,
        used: float | None = None,
    ) -> QuotaExceeded:
        """The error to raise, audited if it is the first of its window."""
        wait = max(1, math.ceil(retry_after if retry_after is not None else self.retry_after))
        details: dict[str, Any] = {
            "resource": resource.value,
            "scope": scope.value,
            "subject": subject,
            "limit": limit,
            "retry_after": wait,
        }
        if used is not None:
            details["used"] = used
        self._audit(caller, details)
        unit = "per second" if resource is QuotaResource.REQUESTS_PER_SECOND else ""
        return QuotaExceeded(
            f"quota exceeded: {resource.value} of {scope.value} '{subject}' is "
            f"{limit}{' ' + unit if unit else ''}; retry after {wait} s",
            **details,
        )

    def refuse_request(
        self, caller: str, scope: QuotaScope, subject: str, resource: QuotaResource, limit: int,
        asked: float,
    ) -> QuotaExceeded:  # fmt: skip
        """The error for a request larger than a whole cap (no ``retry_after``: waiting
        would not help), audited as ``refuse`` is."""
        details: dict[str, Any] = {
            "resource": resource.value,
            "scope": scope.value,
            "subject": subject,
            "limit": limit,
            "asked": asked,
        }
        self._audit(caller, details)
        return QuotaExceeded(
            f"quota exceeded: the job asks for {asked:g} {resource.value} but the "
            f"{resource.value} quota of {scope.value} '{subject}' is {limit}; "
            "ask for less or have an admin raise the quota",
            **details,
        )

    def _audit(self, caller: str, details: dict[str, Any]) -> None:
        key = f"{details['scope']}:{details['subject']}:{details['resource']}"
        suppressed = self.refusals.admit(key, utcnow())
        if suppressed is None:
            return
        try:
            with self.db.begin() as conn:
                self.audit.write(
                    conn,
                    principal=caller,
                    action="quotas.refused",
                    outcome="denied",
                    asset=f"quota:{key.replace(':', '/')}",
                    team=details["subject"] if details["scope"] == "team" else None,
                    details={**details, "suppressed": suppressed},
                )
        except ShipyardError:
            self.refusals.failed(key, suppressed)  # the next refusal tries again
