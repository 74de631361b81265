"""Paging over HTTP: ``limit`` and ``page_token`` on every list route, checked tokens."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform
from tests.conftest import shared_project
from tests.unit.api.conftest import bearer

#: Every list route (GET) that pages, with the path parameters filled for the seed below.
LIST_ROUTES = [
    "/api/v1/catalog/assets",
    "/api/v1/catalog/assets/model:m1/versions",
    "/api/v1/registry/models",
    "/api/v1/registry/versions",
    "/api/v1/registry/promotions",
    "/api/v1/tracking/experiments",
    "/api/v1/lake/tables",
    "/api/v1/lake/definitions",
    "/api/v1/features/definitions",
    "/api/v1/deployments",
    "/api/v1/events/topics",
    "/api/v1/audit",
    "/api/v1/principals",
    "/api/v1/tokens",
]


def _seed(platform: Platform) -> Platform:
    for i in range(8):
        platform.catalog.register_asset(f"model:m{i}", owner="a" if i % 2 else "b")
    for i in range(8):
        platform.registry.create_registered_model(f"r{i}", owner="a" if i % 2 else "b")
        platform.tracking.create_experiment(f"e{i}", owner="a" if i % 2 else "b")
    return platform


@pytest.fixture
def seeded(platform: Platform) -> Platform:
    return _seed(platform)


@dataclass(frozen=True)
class Shared:
    platform: Platform
    client: TestClient
    admin_token: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    """One seeded project for the per-route cases (28): they only read, or are refused."""
    with shared_project(tmp_path_factory, "paging") as platform:
        _seed(platform)
        token = platform.security.create_token(name="admin").token
        # Unexpected errors must come back as 500 responses, not raise in the test.
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            yield Shared(platform, client, token)


def _walk(client: TestClient, path: str, token: str, limit: int, **extra: str) -> list[list[Any]]:
    pages, page_token = [], None
    while True:
        params: dict[str, Any] = {"limit": limit, **extra}
        if page_token:
            params["page_token"] = page_token
        r = client.get(path, params=params, headers=bearer(token))
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append(body["items"])
        page_token = body["next_page_token"]
        if not page_token:
            return pages
        assert len(body["items"]) == limit


def test_a_viewer_of_one_team_pages_through_exactly_its_rows(
    client: TestClient, seeded: Platform, token_for: Callable[..., str]
) -> None:
    token = token_for("vic", role="viewer", team="a")
    for path, extra in [
        ("/api/v1/catalog/assets", {"kind": "model"}),
        ("/api/v1/registry/models", {}),
        ("/api/v1/tracking/experiments", {}),
    ]:
        pages = _walk(client, path, token, 3, **extra)
        names = [row["name"] for page in pages for row in page]
        assert len(pages) == 2 and len(names) == 4, (path, names)
        assert all(row["owner"] == "a" for page in pages for row in page)


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_malformed_and_forged_tokens_are_4xx_never_500(shared: Shared, path: str) -> None:
    client, admin_token = shared.client, shared.admin_token
    forged = "eyJ2IjoxLCJzIjoiMDAwMCIsImsiOlsieCJdfQ"  # {"v":1,"s":"0000","k":["x"]}
    for token in ("garbage", "%00", forged, "A" * 5000):
        r = client.get(path, params={"page_token": token}, headers=bearer(admin_token))
        assert 400 <= r.status_code < 500, (path, token[:20], r.status_code, r.text)
        assert "page token" in r.json()["message"]


@pytest.mark.parametrize("path", LIST_ROUTES)
def test_limits_are_bounded_by_the_settings(shared: Shared, path: str) -> None:
    client, admin_token, seeded = shared.client, shared.admin_token, shared.platform
    for bad in ("0", "-1", "x", str(2**70)):
        r = client.get(path, params={"limit": bad}, headers=bearer(admin_token))
        assert r.status_code == 422, (path, bad, r.text)
    r = client.get(path, params={"limit": 10**9}, headers=bearer(admin_token))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) <= seeded.settings.paging.max_limit


def test_the_maximum_page_comes_from_settings(
    seeded: Platform, client: TestClient, admin_token: str
) -> None:
    seeded.settings.paging.max_limit = 5
    r = client.get("/api/v1/catalog/assets", params={"limit": 1000}, headers=bearer(admin_token))
    body = r.json()
    assert len(body["items"]) == 5 and body["next_page_token"]


def test_a_token_of_one_list_is_refused_by_another(
    client: TestClient, seeded: Platform, admin_token: str
) -> None:
    r = client.get("/api/v1/registry/models", params={"limit": 2}, headers=bearer(admin_token))
    token = r.json()["next_page_token"]
    r = client.get(
        "/api/v1/tracking/experiments", params={"page_token": token}, headers=bearer(admin_token)
    )
    assert r.status_code == 422 and r.json()["error_code"] == "INVALID_ARGUMENT"


def test_lake_definitions_route_is_safe_for_hostile_callers(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    from shipyard._internal.clock import utcnow
    from shipyard.lake.tables import lake_definitions

    now = utcnow()
    with platform.context.db.begin() as conn:
        conn.execute(
            lake_definitions.insert(),
            [
                {
                    "name": f"silver.d{i}",
                    "owner": "b",
                    "definition": {"name": f"silver.d{i}", "sql": "select 1 as x"},
                    "created_by": "t",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(3)
            ],
        )
    path = "/api/v1/lake/definitions"
    editor = token_for("eda", role="editor", team="a")  # another team's editor
    r = client.get(path, headers=bearer(editor))
    assert r.status_code == 200 and r.json() == {"items": [], "next_page_token": None}
    roleless = token_for("nora", role="viewer", team="a")
    platform.security.revoke_role("nora", team="a")
    assert client.get(path, headers=bearer(roleless)).status_code == 403
    b_viewer = token_for("bob", role="viewer", team="b")
    names = [d["name"] for d in client.get(path, headers=bearer(b_viewer)).json()["items"]]
    assert names == ["silver.d0", "silver.d1", "silver.d2"]
    r = client.get(path, params={"page_token": "x", "limit": 2}, headers=bearer(b_viewer))
    assert r.status_code == 422
