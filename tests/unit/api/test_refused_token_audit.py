"""A dead token hammering the API writes one audit row per token per minute, with a count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from shipyard._internal.clock import utcnow
from shipyard.platform import Platform
from tests.unit.api.conftest import bearer


def _refusals(platform: Platform, name: str) -> list[dict[str, object]]:
    page = platform.audit.list_records(principal=name, action="security.authenticate")
    return [r.details for r in reversed(page.items)]


def test_a_revoked_token_writes_one_record_a_minute_with_the_count(
    client: TestClient,
    platform: Platform,
    token_for: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = token_for("rob", role="editor")
    token_id = platform.security.list_tokens(principal="rob").items[0].id
    platform.security.revoke_token(token_id)
    start = utcnow()
    clock = {"now": start}
    monkeypatch.setattr("shipyard.security.service.utcnow", lambda: clock["now"])
    for i in range(100):
        clock["now"] = start + timedelta(milliseconds=500 * i)  # 50 s of requests
        r = client.get("/api/v1/whoami", headers=bearer(token))
        assert r.status_code == 401 and "revoked" in r.json()["message"]
    assert _refusals(platform, "rob") == [{"reason": "token revoked", "token_id": token_id}]
    clock["now"] = start + timedelta(seconds=61)
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 401
    records = _refusals(platform, "rob")
    assert len(records) == 2
    assert records[1] == {"reason": "token revoked", "token_id": token_id, "suppressed": 99}
    assert platform.audit.verify().ok


def test_each_dead_token_has_its_own_window(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    first, second = token_for("ann", role="viewer"), token_for("bea", role="viewer")
    for name in ("ann", "bea"):
        platform.security.revoke_token(platform.security.list_tokens(principal=name).items[0].id)
    for _ in range(5):
        for token in (first, second):
            assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 401
    assert len(_refusals(platform, "ann")) == len(_refusals(platform, "bea")) == 1
