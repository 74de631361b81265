"""The rate limiter contract: every backend admits exactly N hits per second per key."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from shipyard.quotas.backends.base import RateLimiter


class RateLimiterContract:
    @pytest.fixture
    def limiter(self) -> Iterator[RateLimiter]:
        raise NotImplementedError

    @pytest.fixture
    def key(self) -> str:
        return f"test:{uuid.uuid4().hex}"

    def test_admits_the_rate_then_refuses_with_a_wait(self, limiter: RateLimiter, key: str) -> None:
        assert [limiter.hit(key, 5) for _ in range(5)] == [None] * 5
        wait = limiter.hit(key, 5)
        assert wait is not None and 0 < wait <= 1.0
        assert limiter.hit(f"{key}:other", 5) is None  # keys are independent

    def test_a_zero_rate_refuses_everything(self, limiter: RateLimiter, key: str) -> None:
        assert limiter.hit(key, 0) is not None

    def test_reset_forgets_the_hits(self, limiter: RateLimiter, key: str) -> None:
        for _ in range(3):
            limiter.hit(key, 3)
        assert limiter.hit(key, 3) is not None
        limiter.reset(key, 3)
        assert limiter.hit(key, 3) is None

    def test_the_window_moves(self, limiter: RateLimiter, key: str) -> None:
        started = time.monotonic()
        admitted = sum(limiter.hit(key, 20) is None for _ in range(40))
        if limiter.exact:
            assert admitted == 20
        else:  # a token bucket refills while the burst runs
            assert 20 <= admitted <= 20 + 20 * (time.monotonic() - started) + 1
        assert limiter.hit(key, 20) is not None
        time.sleep(1.05)
        assert limiter.hit(key, 20) is None

    def test_concurrent_clients_never_pass_the_rate(self, limiter: RateLimiter, key: str) -> None:
        admitted: list[int] = []
        lock = threading.Lock()
        started = time.monotonic()

        def client() -> None:
            n = sum(limiter.hit(key, 50) is None for _ in range(20))
            with lock:
                admitted.append(n)

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if limiter.exact:
            assert sum(admitted) == 50  # 320 tries within well under a second
        else:  # the bucket refills meanwhile; a lease may be left unspent (ADR 0043)
            refilled = 50 * (time.monotonic() - started)
            assert 50 - 2 * (50 // 20) <= sum(admitted) <= 50 + refilled + 1
