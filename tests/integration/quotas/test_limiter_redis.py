from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.errors import BackendUnavailable, ConfigError
from shipyard.quotas.backends.base import RateLimiter
from shipyard.quotas.backends.limits_backend import LimitsRateLimiter
from tests.contract.quotas.limiter_suite import RateLimiterContract

pytestmark = pytest.mark.integration


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self, redis_url: str) -> Iterator[RateLimiter]:
        lim = LimitsRateLimiter(redis_url, prefix="shipyard-test")
        assert lim.shared
        yield lim
        lim.close()

    def test_two_processes_share_one_count(self, redis_url: str, key: str) -> None:
        a = LimitsRateLimiter(redis_url, prefix="shipyard-test")
        b = LimitsRateLimiter(redis_url, prefix="shipyard-test")
        assert [a.hit(key, 2), b.hit(key, 2)] == [None, None]
        assert a.hit(key, 2) is not None and b.hit(key, 2) is not None


def test_an_unreachable_redis_is_a_backend_error() -> None:
    lim = LimitsRateLimiter("redis://127.0.0.1:1/0")
    with pytest.raises(BackendUnavailable):
        lim.hit("k", 1)


def test_an_unknown_storage_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        LimitsRateLimiter("nosuch://x")
