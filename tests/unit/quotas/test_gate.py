"""The request-path gate: its cached table, and what it does when the count is down."""

from __future__ import annotations

import time

import pytest

from shipyard.errors import QuotaExceeded
from shipyard.platform import Platform
from shipyard.quotas.backends.limits_backend import LimitsRateLimiter
from shipyard.quotas.gate import QuotaGate
from shipyard.quotas.store import SqlQuotaStore


def _gate(p: Platform, limiter: LimitsRateLimiter, cache_seconds: float) -> QuotaGate:
    return QuotaGate(p.context.db, p.backends.audit, limiter, cache_seconds=cache_seconds)


def test_an_aged_table_is_served_while_a_background_read_refreshes_it(platform: Platform) -> None:
    vera = platform.security.create_principal("vera", team="ml", role="viewer")
    gate = _gate(platform, LimitsRateLimiter(), cache_seconds=0.05)
    gate.admit_request(vera)  # first use: the (empty) table is read on this thread
    quota = platform.quotas.set_quota("principal", "vera", "requests_per_second", 1)
    assert quota.limit == 1
    time.sleep(0.1)
    gate.admit_request(vera)  # aged: served from the copy it has, a refresh started
    deadline = time.monotonic() + 5
    while ("principal", "vera", "requests_per_second") not in gate.limits():
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.01)
    with pytest.raises(QuotaExceeded):  # 1 per second: the second in a second at the latest
        for _ in range(2):
            gate.admit_request(vera)


def test_an_unreachable_rate_storage_fails_open(platform: Platform) -> None:
    vera = platform.security.create_principal("vera", team="ml", role="viewer")
    with platform.context.db.begin() as conn:
        from shipyard.quotas.models import Quota

        SqlQuotaStore().put(
            conn,
            Quota(scope="principal", subject="vera", resource="requests_per_second", limit=5),
            by="test",
        )
    gate = _gate(platform, LimitsRateLimiter("redis://127.0.0.1:1/0"), cache_seconds=60)
    for _ in range(10):  # more than the quota of 5
        gate.admit_request(vera)  # admitted (and logged), not a 503 for every request
