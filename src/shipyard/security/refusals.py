"""Rate limit of audit records for refused (revoked or expired) tokens.

A client that keeps sending a dead token would otherwise write one audit row per
request (40k rows in 10 minutes from one client). The first refusal of a token
in a window is recorded; the ones after it in the same window are only counted,
and the count rides on the token's next record (``details.suppressed``).

The window is kept per process: with N API workers a token writes at most N
records a window. A count still pending when the process stops is lost (the
first refusal of that window was recorded).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: At most one audit record per refused token per window (per process).
WINDOW = timedelta(minutes=1)
#: Windows kept before old ones are dropped (bounds memory under many dead tokens).
MAX_TOKENS = 10_000


@dataclass
class _Window:
    start: datetime
    suppressed: int = 0


class RefusalLimiter:
    """Decides which refusals of a token are written to the audit log."""

    def __init__(self, window: timedelta = WINDOW) -> None:
        self.window = window
        self._seen: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def admit(self, token_id: str, now: datetime) -> int | None:
        """The count of refusals not recorded since the token's last record if this
        refusal is to be recorded, ``None`` if it is only counted."""
        with self._lock:
            seen = self._seen.get(token_id)
            if seen is not None and now - seen.start < self.window:
                seen.suppressed += 1
                return None
            if len(self._seen) >= MAX_TOKENS:
                self._prune(now)
            self._seen[token_id] = _Window(now)
            return seen.suppressed if seen is not None else 0

    def failed(self, token_id: str, suppressed: int) -> None:
        """The record of this refusal could not be written: the next refusal tries
        again and carries this one in its count."""
        with self._lock:
            self._seen[token_id] = _Window(datetime.min.replace(tzinfo=UTC), suppressed + 1)

    def _prune(self, now: datetime) -> None:
        stale = [k for k, w in self._seen.items() if now - w.start >= self.window]
        for k in stale or list(self._seen)[: MAX_TOKENS // 2]:
            del self._seen[k]
