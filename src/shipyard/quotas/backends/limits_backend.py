"""``LimitsRateLimiter``: the ``limits`` library's moving window over its storage.

``memory://`` counts in this process (the embedded default: one API worker);
``redis://host:port/db`` counts in Redis, shared by every API worker and host.
The moving window keeps the time of each admitted hit, so "at most N in any one
second" holds exactly (a token bucket of N tokens refilled every second allows
up to 2N across a boundary); Redis runs it as one Lua script, atomic under any
number of concurrent clients.
"""

from __future__ import annotations

import math
import threading
import time

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from shipyard.errors import BackendUnavailable, ConfigError, mask_url
from shipyard.quotas.backends.base import RateLimiter


class LimitsRateLimiter(RateLimiter):
    def __init__(self, uri: str = "memory://", *, prefix: str = "shipyard") -> None:
        try:
            self._storage = storage_from_string(uri)
        except Exception as exc:  # limits raises ConfigurationError or a driver error
            raise ConfigError(
                f"quotas.rate_storage {mask_url(uri)!r} is not usable: {exc}", uri=mask_url(uri)
            ) from None
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._prefix = prefix
        self.shared = not uri.startswith("memory://")
        self._items: dict[int, RateLimitItemPerSecond] = {}
        self._lock = threading.Lock()

    def _item(self, per_second: int) -> RateLimitItemPerSecond:
        item = self._items.get(per_second)
        if item is None:
            with self._lock:
                if len(self._items) > 4096:
                    self._items.clear()
                item = self._items.setdefault(per_second, RateLimitItemPerSecond(per_second))
        return item

    def hit(self, key: str, per_second: int) -> float | None:
        item, key = self._item(per_second), f"{self._prefix}:{key}"
        try:
            if per_second > 0 and self._limiter.hit(item, key):
                return None
            if per_second <= 0:
                return 1.0
            reset = self._limiter.get_window_stats(item, key).reset_time
        except Exception as exc:
            raise BackendUnavailable(f"rate limit storage unavailable: {exc}") from None
        return max(reset - time.time(), 0.001) if math.isfinite(reset) else 1.0

    def reset(self, key: str, per_second: int) -> None:
        try:
            self._limiter.clear(self._item(max(per_second, 1)), f"{self._prefix}:{key}")
        except Exception as exc:
            raise BackendUnavailable(f"rate limit storage unavailable: {exc}") from None


def create_rate_limiter(uri: str, *, prefix: str, lease_seconds: float = 0.0) -> RateLimiter:
    """The limiter ``quotas.rate_storage`` names (a ``limits`` storage URI).

    Redis with ``lease_seconds`` > 0 (``quotas.rate_lease_seconds``) counts in leased
    batches so a request does not wait on Redis (ADR 0043); otherwise every hit is one
    exact moving-window round trip.
    """
    if lease_seconds > 0 and uri.startswith(("redis://", "rediss://", "unix://")):
        from shipyard.quotas.backends.leased import RedisLeasedRateLimiter

        return RedisLeasedRateLimiter(uri, prefix=prefix, lease_seconds=lease_seconds)
    return LimitsRateLimiter(uri, prefix=prefix)
