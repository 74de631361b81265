"""``RedisLeasedRateLimiter``: a shared rate limit whose hits are counted in this process.

The shared count is a moving one-second window in Redis (the time of each admission, by
Redis's own clock), changed only by one Lua script that grants up to ``want`` tokens at
once: as many as the window has room for. Each process leases small batches of tokens from it and spends
them locally: a request takes a token from a dict under a lock (microseconds), and when
the local batch runs low the next one is leased by a background thread, so a busy key
never waits on Redis. Only a key with nothing left locally and no lease under way (a
quiet key, or a busy one whose lease was slower than its requests) asks Redis on the
request itself: one round trip, as the exact limiter does for every request.

Accuracy (ADR 0043): every admitted request spent a token the window granted, and the
window never grants more than N in any one second, so any one second admits at most N
plus the tokens leased before it and spent in it: at most one batch per process (1/20
of the rate, and no more than the key's own demand over 0.1 s). With two processes
that is at most 10 % over, and under a steady load the lease is spent within
milliseconds of its grant. Unspent tokens lapse after ``lease_seconds``. A refused key
is refused locally until the window has room again (Redis says when), so a flood of
refusals costs Redis nothing.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from shipyard.errors import BackendUnavailable, ConfigError, mask_url
from shipyard.quotas.backends.base import RateLimiter

#: KEYS[1]: the key's admissions of the last second, newest first (one timestamp each,
#: by Redis's clock); ARGV: rate, want. Grants what the moving window has room for and
#: returns {granted, seconds until the oldest admission leaves the window}.
LEASE_SCRIPT = """
local rate = tonumber(ARGV[1])
local want = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local lo, hi = 0, math.min(redis.call('LLEN', KEYS[1]), rate)
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  if tonumber(redis.call('LINDEX', KEYS[1], mid)) > now - 1 then lo = mid + 1 else hi = mid end
end
if lo == 0 then
  redis.call('DEL', KEYS[1])
else
  redis.call('LTRIM', KEYS[1], 0, lo - 1)
end
local grant = math.max(0, math.min(want, rate - lo))
if grant > 0 then
  local stamp = string.format('%.6f', now)
  local entries = {}
  for i = 1, grant do entries[i] = stamp end
  for i = 1, grant, 5000 do
    redis.call('LPUSH', KEYS[1], unpack(entries, i, math.min(i + 4999, grant)))
  end
  redis.call('PEXPIRE', KEYS[1], 1100)
end
local wait = 0
if lo + grant >= rate then
  wait = math.max(0, tonumber(redis.call('LINDEX', KEYS[1], rate - 1)) + 1 - now)
end
return {grant, string.format('%.6f', wait)}
"""
#: A lease asks for at most this fraction of the rate...
BATCH_FRACTION = 20
#: ...and no more than the key's own demand over this many seconds (a quiet key: one).
AHEAD_SECONDS = 0.1


@dataclass
class _Bucket:
    """This process's share of one key at one rate."""

    tokens: int = 0
    expires: float = 0.0  # monotonic: unspent tokens lapse then
    refused_until: float = 0.0  # the shared window is full until then
    demand: int = 0  # hits since the last lease was asked for
    asked: float = 0.0  # monotonic: when it was asked for
    want: int = 1  # what it asked for
    lease: Future[tuple[int, float, float]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class RedisLeasedRateLimiter(RateLimiter):
    """Shared by every process on the same Redis; see the module docstring."""

    shared = True
    exact = False

    def __init__(
        self, uri: str, *, prefix: str = "shipyard", lease_seconds: float = 1.0, timeout: float = 2
    ) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - the redis extra
            raise ConfigError(f"quotas.rate_storage needs the redis package: {exc}") from None
        try:
            self._redis = redis.Redis.from_url(
                uri, socket_timeout=timeout, socket_connect_timeout=timeout
            )
        except ValueError as exc:
            raise ConfigError(
                f"quotas.rate_storage {mask_url(uri)!r} is not usable: {exc}", uri=mask_url(uri)
            ) from None
        self._script = self._redis.register_script(LEASE_SCRIPT)
        self._prefix = prefix
        self._lease_seconds = lease_seconds
        self._timeout = timeout
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rate-lease")

    # -- the request path -------------------------------------------------------------------

    def hit(self, key: str, per_second: int) -> float | None:
        if per_second <= 0:
            return 1.0
        b = self._bucket(key, per_second)
        with b.lock:
            now = time.monotonic()
            b.demand += 1
            if b.tokens and now >= b.expires:
                b.tokens = 0
            if b.lease is not None and (b.lease.done() or not b.tokens):
                self._collect(b)  # waits only when nothing is left here and a lease is under way
            if not b.tokens:
                if now < b.refused_until:
                    return max(b.refused_until - now, 0.001)
                self._deposit(b, *self._lease(key, per_second, self._want(b, per_second, now)))
                if not b.tokens:
                    return max(b.refused_until - time.monotonic(), 0.001)
            b.tokens -= 1
            # A key used since its last lease (busy) gets its next batch before it runs out;
            # a quiet one leases on its next request, taking nothing from the others meanwhile.
            low = b.tokens <= b.want // 2
            if low and b.demand and b.lease is None and now >= b.refused_until:
                want = self._want(b, per_second, now)
                b.lease = self._pool.submit(self._lease, key, per_second, want)
            return None

    def _bucket(self, key: str, per_second: int) -> _Bucket:
        b = self._buckets.get((key, per_second))
        if b is None:
            with self._lock:
                if len(self._buckets) > 4096:
                    self._buckets.clear()
                b = self._buckets.setdefault((key, per_second), _Bucket())
        return b

    @staticmethod
    def _batch(per_second: int) -> int:
        return max(1, per_second // BATCH_FRACTION)

    def _want(self, b: _Bucket, per_second: int, now: float) -> int:
        """A batch, but no more than the key's demand over the next ``AHEAD_SECONDS``."""
        demand = b.demand / max(now - b.asked, 0.001)
        want = min(self._batch(per_second), max(1, math.ceil(demand * AHEAD_SECONDS)))
        b.demand, b.asked, b.want = 0, now, want
        return want

    def _collect(self, b: _Bucket) -> None:
        lease, b.lease = b.lease, None
        assert lease is not None
        try:
            result = lease.result(timeout=self._timeout)
        except BackendUnavailable:
            raise
        except Exception as exc:
            raise BackendUnavailable(f"rate limit storage unavailable: {exc}") from None
        self._deposit(b, *result)

    def _deposit(self, b: _Bucket, granted: int, wait: float, asked_at: float) -> None:
        if granted:
            b.tokens += granted
            b.expires = asked_at + self._lease_seconds
        else:
            b.refused_until = asked_at + wait

    # -- Redis ------------------------------------------------------------------------------

    def _lease(self, key: str, per_second: int, want: int) -> tuple[int, float, float]:
        """Up to ``want`` tokens of the shared window: (granted, seconds to room, asked at)."""
        asked_at = time.monotonic()
        try:
            granted, wait = self._script(keys=[f"{self._prefix}:{key}"], args=[per_second, want])
        except Exception as exc:
            raise BackendUnavailable(f"rate limit storage unavailable: {exc}") from None
        return int(granted), float(wait), asked_at

    def reset(self, key: str, per_second: int) -> None:
        with self._lock:
            for k in [k for k in self._buckets if k[0] == key]:
                del self._buckets[k]
        try:
            self._redis.delete(f"{self._prefix}:{key}")
        except Exception as exc:
            raise BackendUnavailable(f"rate limit storage unavailable: {exc}") from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._redis.close()
