"""Quota and usage routes: 429 with Retry-After, and every hostile caller refused cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from shipyard.platform import Platform
from tests.unit.api.conftest import bearer

QUOTA = "/api/v1/quotas/team/ml/concurrent_jobs"
CPUS, GPUS = "/api/v1/quotas/team/ml/cpus", "/api/v1/quotas/team/ml/gpus"


def test_a_rate_quota_answers_429_with_retry_after_and_the_limit_hit(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    token = token_for("vera", role="viewer", team="ml")
    platform.quotas.set_quota("principal", "vera", "requests_per_second", 3)
    codes = [client.get("/api/v1/whoami", headers=bearer(token)).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = client.get("/api/v1/whoami", headers=bearer(token))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert body["error_code"] == "QUOTA_EXCEEDED"
    assert body["details"] | {"retry_after": 1} == {
        "resource": "requests_per_second",
        "scope": "principal",
        "subject": "vera",
        "limit": 3,
        "retry_after": 1,
    }
    for _ in range(10):
        assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 429
    records = platform.audit.list_records(action="quotas.refused").items
    assert len(records) == 1 and records[0].principal == "vera"  # once per window


def test_a_team_rate_quota_counts_every_member(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    a, b = token_for("a1", team="ml"), token_for("b1", team="ml")
    other = token_for("c1", team="risk")
    platform.quotas.set_quota("team", "ml", "requests_per_second", 2)
    assert client.get("/api/v1/whoami", headers=bearer(a)).status_code == 200
    assert client.get("/api/v1/whoami", headers=bearer(b)).status_code == 200
    assert client.get("/api/v1/whoami", headers=bearer(a)).status_code == 429
    assert client.get("/api/v1/whoami", headers=bearer(other)).status_code == 200


def test_admin_sets_lists_and_lifts_a_quota_over_http(client: TestClient, admin_token: str) -> None:
    put = client.put(QUOTA, json={"limit": 4}, headers=bearer(admin_token))
    assert put.status_code == 200 and put.json()["limit"] == 4
    got = client.get("/api/v1/quotas?with_usage=true", headers=bearer(admin_token)).json()
    assert [(i["quota"]["subject"], i["used"]) for i in got["items"]] == [("ml", 0.0)]
    assert client.delete(QUOTA, headers=bearer(admin_token)).status_code == 200
    assert client.delete(QUOTA, headers=bearer(admin_token)).status_code == 404


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/quotas", None),
    ("PUT", QUOTA, {"limit": 1}),
    ("DELETE", QUOTA, None),
    ("PUT", CPUS, {"limit": 64}),
    ("PUT", GPUS, {"limit": 8}),
    ("DELETE", CPUS, None),
    ("GET", "/api/v1/usage", None),
    ("POST", "/api/v1/usage/meter", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_token_is_401(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 401 and r.json()["error_code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_roleless_token_is_403(
    client: TestClient,
    platform: Platform,
    token_for: Callable[..., str],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    token = token_for("nobody", team="ml")
    platform.security.revoke_role("nobody", team="ml")
    r = client.request(method, path, json=body, headers=bearer(token))
    assert r.status_code == 403, r.text


def test_another_teams_editor_cannot_touch_or_read_ml(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    platform.quotas.set_quota("team", "ml", "deployments", 3)
    token = token_for("eve", role="editor", team="risk")
    h = bearer(token)
    assert client.put(QUOTA, json={"limit": 100}, headers=h).status_code == 403
    assert client.delete("/api/v1/quotas/team/ml/deployments", headers=h).status_code == 403
    assert client.get("/api/v1/quotas?subject=ml", headers=h).json()["items"] == []
    assert client.get("/api/v1/usage?team=ml", headers=h).status_code == 403
    assert client.post("/api/v1/usage/meter", json={}, headers=h).status_code == 403
    # Her own team's quotas and usage she may read.
    assert client.get("/api/v1/usage?team=risk", headers=h).status_code == 200
    assert platform.quotas.list_quotas().items[0].quota.limit == 3  # unchanged


def test_only_an_admin_of_every_team_sets_cpu_and_gpu_quotas(
    client: TestClient, platform: Platform, token_for: Callable[..., str], admin_token: str
) -> None:
    """A team's own admin must not lift its CPU/GPU caps; nor may another team's editor."""
    platform.quotas.set_quota("team", "ml", "cpus", 2)
    for token in (
        token_for("ml-admin", role="admin", team="ml"),
        token_for("eve", role="editor", team="risk"),
    ):
        h = bearer(token)
        assert client.put(CPUS, json={"limit": 1000}, headers=h).status_code == 403
        assert client.put(GPUS, json={"limit": 8}, headers=h).status_code == 403
        assert client.delete(CPUS, headers=h).status_code == 403
    kept = platform.quotas.list_quotas(subject="ml").items
    assert [(q.quota.resource, q.quota.limit) for q in kept] == [("cpus", 2)]
    put = client.put(GPUS, json={"limit": 1}, headers=bearer(admin_token))
    assert put.status_code == 200 and put.json()["resource"] == "gpus"
    got = client.get("/api/v1/quotas?resource=cpus&with_usage=true", headers=bearer(admin_token))
    assert [(i["quota"]["limit"], i["used"]) for i in got.json()["items"]] == [(2, 0.0)]


def test_a_training_job_larger_than_its_teams_cpus_quota_is_a_429_naming_it(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    platform.quotas.set_quota("team", "ml", "cpus", 1)
    job = {"function": "shipyard.pipelines.builtin:echo", "team": "ml"}
    big = {**job, "resources": {"cpus": 2}}
    r = client.post(
        "/api/v1/training/jobs", json=big, headers=bearer(token_for("ed", team="ml", role="editor"))
    )
    assert r.status_code == 429 and "Retry-After" not in r.headers  # waiting would not help
    body = r.json()
    assert body["error_code"] == "QUOTA_EXCEEDED"
    assert "the cpus quota of team 'ml' is 1" in body["message"]
    # another team's editor is refused for lack of rights, not told about ml's quota
    eve = bearer(token_for("eve", role="editor", team="risk"))
    r = client.post("/api/v1/training/jobs", json=big, headers=eve)
    assert r.status_code == 403 and "quota" not in r.text
    assert platform.training.list().items == []  # nothing queued


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", QUOTA, {"limit": "many"}),
        ("PUT", QUOTA, {"limit": -1}),
        ("PUT", QUOTA, {"limit": 1, "burst": 2}),
        ("PUT", QUOTA, None),
        ("PUT", "/api/v1/quotas/tenant/ml/concurrent_jobs", {"limit": 1}),
        ("PUT", "/api/v1/quotas/team/ml/tpus", {"limit": 1}),
        ("PUT", "/api/v1/quotas/team/ml/cpus", {"limit": 1.5}),
        ("PUT", "/api/v1/quotas/team/" + "x" * 300 + "/deployments", {"limit": 1}),
        ("PUT", "/api/v1/quotas/team/m%20l'--/deployments", {"limit": 1}),
        ("GET", "/api/v1/quotas?resource=tpus", None),
        ("GET", "/api/v1/quotas?limit=0", None),
        ("GET", "/api/v1/quotas?page_token=%00%ff", None),
        ("GET", "/api/v1/usage?by=color", None),
        ("GET", "/api/v1/usage?month=2026-13", None),
        ("GET", "/api/v1/usage?month=12-2026", None),
        ("POST", "/api/v1/usage/meter", {"hour": "yesterday"}),
        ("POST", "/api/v1/usage/meter", {"hour": "2999-01-01T00:00:00Z"}),
        ("POST", "/api/v1/usage/meter", {"when": "now"}),
    ],
)
def test_malformed_input_is_a_4xx_never_a_500(
    client: TestClient, admin_token: str, method: str, path: str, body: Any
) -> None:
    r = client.request(method, path, json=body, headers=bearer(admin_token))
    assert r.status_code in (400, 422), (r.status_code, r.text)
    assert r.json()["error_code"] == "INVALID_ARGUMENT"
