from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipyard.quotas.backends.base import RateLimiter
from shipyard.quotas.backends.limits_backend import LimitsRateLimiter
from tests.contract.quotas.limiter_suite import RateLimiterContract


class TestMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self) -> Iterator[RateLimiter]:
        lim = LimitsRateLimiter("memory://")
        assert not lim.shared
        yield lim
        lim.close()
