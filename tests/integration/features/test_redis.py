"""The online store contract on a real Redis server, one key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shipyard.features.backends.base import OnlineStore
from shipyard.features.backends.redis import RedisOnlineStore
from tests.contract.features.suite import OnlineStoreContract

pytestmark = pytest.mark.integration


class TestRedisOnlineStore(OnlineStoreContract):
    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[OnlineStore]:
        prefix = f"shipyard-test:{uuid.uuid4().hex}"
        s = RedisOnlineStore(redis_url, key_prefix=prefix)
        yield s
        for ns in ("v:1", "v:2", "a:1", "b:1"):
            s.delete_namespace(ns)
        s.close()
