"""The vector routes over HTTP: who may call them, and malformed input is a 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest

from shipyard.platform import Platform
from shipyard.security.models import Role
from tests.conftest import shared_project
from tests.servers import live_server
from tests.unit.vectors.test_service import SPEC, D, _table

QUERY = "/api/v1/vectors/items/query"


def _auth(p: Platform, principal: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.security.create_token(principal=principal).token}"}


@contextmanager
def _serve(platform: Platform) -> Iterator[tuple[Platform, httpx.Client]]:
    platform.lake.write("gold.items", _table(range(300)))
    platform.vectors.apply([SPEC])
    platform.vectors.build("items")
    with live_server(platform) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield platform, c


@pytest.fixture
def served(platform: Platform) -> Iterator[tuple[Platform, httpx.Client]]:
    with _serve(platform) as both:
        yield both


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, httpx.Client]]:
    """One served index for the malformed-input cases: each is refused and writes
    nothing, so they need not each write, index and serve a table (27 cases)."""
    with shared_project(tmp_path_factory, "vectors-http") as p, _serve(p) as both:
        yield both


def test_query_get_list_build_over_http(served: tuple[Platform, httpx.Client]) -> None:
    p, http = served
    admin = _auth(p, None)
    r = http.post(
        QUERY, json={"vector": [0.0] * D, "k": 3, "filter": {"color": "red"}}, headers=admin
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["ids"]) == len(body["distances"]) == 3 and body["matched"] == 100
    assert all(i % 3 == 0 for i in body["ids"])
    r = http.post(QUERY, json={"id": 4, "k": 2}, headers=admin)
    assert r.status_code == 200 and 4 not in r.json()["ids"]
    assert http.get("/api/v1/vectors/items", headers=admin).json()["state"]["rows"] == 300
    assert [i["name"] for i in http.get("/api/v1/vectors", headers=admin).json()] == ["items"]
    r = http.post("/api/v1/vectors/items/build", json={}, headers=admin)
    assert r.status_code == 200 and r.json()["mode"] == "unchanged"


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", QUERY, {"vector": [0.0] * D}),
    ("POST", QUERY, {"vector": [0.0] * D, "text": "red"}),
    ("POST", "/api/v1/vectors/items/build", {}),
    ("POST", "/api/v1/vectors/apply", {"specs": [SPEC.model_dump(mode="json")]}),
    ("POST", "/api/v1/vectors/plan", {"specs": [SPEC.model_dump(mode="json")]}),
    ("GET", "/api/v1/vectors/items", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_no_token_roleless_and_another_teams_editor_are_refused(
    served: tuple[Platform, httpx.Client], method: str, path: str, body: dict[str, Any] | None
) -> None:
    p, http = served
    assert http.request(method, path, json=body).status_code == 401
    p.security.create_principal("nora", team="default", role=Role.VIEWER)
    p.security.revoke_role("nora", team="default")
    p.security.create_principal("otto", team="other", role=Role.EDITOR)
    for who in ("nora", "otto"):
        r = http.request(method, path, json=body, headers=_auth(p, who))
        assert r.status_code in (403, 404), f"{who}: {r.status_code} {r.text}"
        assert "\n" not in r.json().get("message", r.text)
    assert http.get("/api/v1/vectors", headers=_auth(p, "otto")).json() == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"vector": "abc"}, 422),
        ({"vector": [0.0] * D, "k": "ten"}, 422),
        ({"vector": [0.0] * D, "k": 2**40}, 422),
        ({"vector": [0.0] * D, "zz": 1}, 422),
        ({"vector": [0.0] * D, "filter": {"color": {"$ne": "red"}}}, 422),
        ({"vector": [0.0] * D, "filter": "red"}, 422),
        ({"vector": [0.0] * 20_000}, 422),
        ({"id": [1, 2]}, 422),
        ({"vector": [0.0] * D, "k": 0}, 422),
        ({"vector": [0.0] * D, "k": 10_001}, 422),
        ({"vector": [0.0] * (D - 1)}, 422),
        ({"vector": [0.0] * D, "filter": {"size": 1}}, 422),
        ({"vector": [0.0] * D, "id": 1}, 422),
        ({}, 422),
        ({"id": "no-such-row"}, 404),
        ({"vector": [0.0] * D, "text": 5}, 422),
        ({"vector": [0.0] * D, "text": ["red"]}, 422),
        ({"vector": [0.0] * D, "text": "x" * 1001}, 422),
        ({"vector": [0.0] * D, "text": "red"}, 422),  # items has no text_column
        ({"text": "red"}, 422),
    ],
)
def test_malformed_queries_are_4xx_in_one_line(
    refusing: tuple[Platform, httpx.Client], body: dict[str, Any], status: int
) -> None:
    p, http = refusing
    r = http.post(QUERY, json=body, headers=_auth(p, None))
    assert r.status_code == status, r.text
    assert "\n" not in r.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", QUERY, None),
        ("POST", "/api/v1/vectors/plan", {"specs": "x"}),
        ("POST", "/api/v1/vectors/apply", {"specs": [{"name": "Bad Name"}]}),
        ("POST", "/api/v1/vectors/items/build", {"full": "maybe"}),
        ("GET", "/api/v1/vectors/" + "x" * 300, None),
        ("POST", "/api/v1/vectors/nope/query", {"vector": [0.0] * D}),
    ],
)
def test_malformed_requests_elsewhere_are_4xx(
    refusing: tuple[Platform, httpx.Client], method: str, path: str, body: dict[str, Any] | None
) -> None:
    p, http = refusing
    r = http.request(method, path, json=body, headers=_auth(p, None))
    assert 400 <= r.status_code < 500, f"{r.status_code} {r.text}"


def test_a_hot_index_still_refuses_and_audits_another_team_and_bad_input(
    served: tuple[Platform, httpx.Client],
) -> None:
    # The route answers a loaded index on the event loop (ADR 0040): warm it, then ask
    # as someone who may not read it, and with input only the service refuses.
    p, http = served
    admin = _auth(p, None)
    for _ in range(3):
        assert http.post(QUERY, json={"vector": [0.0] * D, "k": 2}, headers=admin).is_success
    p.security.create_principal("otto", team="other", role=Role.EDITOR)
    r = http.post(QUERY, json={"vector": [0.0] * D, "k": 2}, headers=_auth(p, "otto"))
    assert r.status_code == 403 and "needs 'read'" in r.json()["message"]
    denied = p.audit.list_records(action="vectors.query", outcome="denied").items
    assert [d.principal for d in denied] == ["otto"]
    for body in ({"vector": [float("nan")] * D}, {"vector": [0.0] * (D + 1)}, {"id": 10**9}):
        r = http.post(
            QUERY,
            content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
            headers={**admin, "content-type": "application/json"},
        )
        assert 400 <= r.status_code < 500, r.text
