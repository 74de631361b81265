"""The leased Redis limiter (ADR 0043): the contract, a shared count, local hits, accuracy."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from shipyard.errors import BackendUnavailable
from shipyard.quotas.backends.base import RateLimiter
from shipyard.quotas.backends.leased import RedisLeasedRateLimiter
from shipyard.quotas.backends.limits_backend import create_rate_limiter
from tests.contract.quotas.limiter_suite import RateLimiterContract

pytestmark = pytest.mark.integration


class CountingLimiter(RedisLeasedRateLimiter):
    """The real limiter, noting which thread each Redis lease ran on."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.leases: list[str] = []

    def _lease(self, key: str, per_second: int, want: int) -> tuple[int, float, float]:
        self.leases.append(threading.current_thread().name)
        return super()._lease(key, per_second, want)


class TestRedisLeasedRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self, redis_url: str) -> Iterator[RateLimiter]:
        lim = create_rate_limiter(redis_url, prefix="shipyard-test", lease_seconds=1.0)
        assert isinstance(lim, RedisLeasedRateLimiter) and lim.shared and not lim.exact
        yield lim
        lim.close()

    def test_two_processes_share_one_count(self, redis_url: str, key: str) -> None:
        a = RedisLeasedRateLimiter(redis_url, prefix="shipyard-test")
        b = RedisLeasedRateLimiter(redis_url, prefix="shipyard-test")
        assert [a.hit(key, 2), b.hit(key, 2)] == [None, None]
        assert a.hit(key, 2) is not None and b.hit(key, 2) is not None

    def test_a_busy_key_does_not_wait_on_redis(self, redis_url: str, key: str) -> None:
        lim = CountingLimiter(redis_url, prefix="shipyard-test")
        try:
            for _ in range(2000):
                assert lim.hit(key, 100_000) is None
                time.sleep(0.00005)
        finally:
            lim.close()
        on_request = [t for t in lim.leases if not t.startswith("rate-lease")]
        # The first hit leases on the request; later batches arrive in the background.
        assert on_request[:1] == ["MainThread"] and len(on_request) <= 3
        assert 3 <= len(lim.leases) < 200

    def test_two_processes_hold_the_rate_within_ten_percent(self, redis_url: str, key: str) -> None:
        rate = 200
        workers = [RedisLeasedRateLimiter(redis_url, prefix="shipyard-test") for _ in range(2)]
        begin = time.monotonic()
        # A moving window under a flood admits in waves one second apart: count a whole one.
        start, end = begin + 0.5, begin + 1.5
        admitted = [0]
        lock = threading.Lock()

        def client(lim: RateLimiter) -> None:
            while (now := time.monotonic()) < end:
                ok = lim.hit(key, rate) is None
                if ok and now >= start:
                    with lock:
                        admitted[0] += 1
                time.sleep(0.0005)

        threads = [threading.Thread(target=client, args=(workers[i % 2],)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for lim in workers:
            lim.close()
        per_second = admitted[0] / (end - start)
        assert abs(per_second - rate) <= 0.1 * rate, per_second


def test_an_unreachable_redis_is_a_backend_error() -> None:
    lim = RedisLeasedRateLimiter("redis://127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(BackendUnavailable):
        lim.hit("k", 1)
    lim.close()
