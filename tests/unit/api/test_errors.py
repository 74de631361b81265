"""Errors over HTTP: one JSON shape, validation paths, no leaked internals."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from shipyard.catalog.service import CatalogService
from shipyard.platform import Platform
from tests.unit.api.conftest import bearer


def test_validation_error_is_422_with_field_paths(client: TestClient, admin_token: str) -> None:
    r = client.post(
        "/api/v1/principals",
        json={"name": "", "role": "overlord", "kind": "robot", "surprise": 1},
        headers=bearer(admin_token),
    )
    assert r.status_code == 422
    body = r.json()
    assert body["error_code"] == "INVALID_ARGUMENT"
    paths = {f["path"] for f in body["details"]["fields"]}
    assert paths == {"body.name", "body.role", "body.kind", "body.surprise"}
    assert "body.role" in body["message"]


def test_query_validation_names_the_parameter(client: TestClient, admin_token: str) -> None:
    r = client.get("/api/v1/catalog/assets", params={"limit": 0}, headers=bearer(admin_token))
    assert r.status_code == 422
    assert [f["path"] for f in r.json()["details"]["fields"]] == ["query.limit"]


def test_malformed_json_body_is_422(client: TestClient, admin_token: str) -> None:
    r = client.post(
        "/api/v1/catalog/assets",
        content=b"{not json",
        headers={**bearer(admin_token), "content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error_code"] == "INVALID_ARGUMENT"


def test_shipyard_errors_map_to_status_and_code(client: TestClient, admin_token: str) -> None:
    h = bearer(admin_token)
    r = client.get("/api/v1/catalog/assets/table:no.such", headers=h)
    assert (r.status_code, r.json()["error_code"]) == (404, "NOT_FOUND")
    assert r.json()["details"] == {"kind": "table", "name": "no.such"}
    r = client.get("/api/v1/catalog/assets/not-a-ref", headers=h)
    assert (r.status_code, r.json()["error_code"]) == (422, "INVALID_ARGUMENT")
    client.post("/api/v1/principals", json={"name": "bob"}, headers=h)
    r = client.post("/api/v1/principals", json={"name": "bob"}, headers=h)
    assert (r.status_code, r.json()["error_code"]) == (409, "ALREADY_EXISTS")


def test_unknown_path_uses_the_same_error_shape(client: TestClient) -> None:
    r = client.get("/api/v1/no/such/thing")
    assert r.status_code == 404
    assert r.json() == {"error_code": "NOT_FOUND", "message": "Not Found", "details": {}}


def test_unexpected_error_is_500_with_request_id_and_no_internals(
    client: TestClient,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("password=hunter2 in /secret/path")

    monkeypatch.setattr(CatalogService, "search", boom)
    with caplog.at_level(logging.ERROR, logger="shipyard.api"):
        r = client.get(
            "/api/v1/catalog/assets",
            headers={**bearer(admin_token), "X-Request-ID": "req-42"},
        )
    assert r.status_code == 500
    body = r.json()
    assert body["error_code"] == "INTERNAL_ERROR"
    assert body["details"] == {"request_id": "req-42"} and "req-42" in body["message"]
    assert r.headers["x-request-id"] == "req-42"
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    logged = [rec for rec in caplog.records if "req-42" in rec.getMessage()]
    assert logged and logged[0].exc_info is not None  # the operator gets the traceback


def test_request_id_is_generated_when_absent(
    client: TestClient, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise ValueError("nope")

    monkeypatch.setattr(CatalogService, "search", boom)
    r = client.get("/api/v1/catalog/assets", headers=bearer(admin_token))
    rid = r.json()["details"]["request_id"]
    assert r.status_code == 500 and len(rid) == 32 and r.headers["x-request-id"] == rid


def test_failed_request_leaves_nothing_half_written(
    client: TestClient, platform: Platform, admin_token: str
) -> None:
    r = client.post(
        "/api/v1/catalog/assets",
        json={"ref": "table:silver.x", "sources": ["table:bronze.missing"]},
        headers=bearer(admin_token),
    )
    assert r.status_code == 404
    assert platform.catalog.search("silver").items == []
    rec = platform.audit.list_records(action="catalog.register").items[0]
    assert rec.outcome == "error" and rec.details == {"error_code": "NOT_FOUND"}


def test_token_for_unknown_principal_writes_no_token(
    client: TestClient, platform: Platform, admin_token: str
) -> None:
    before = len(platform.security.list_tokens().items)
    r = client.post("/api/v1/tokens", json={"principal": "ghost"}, headers=bearer(admin_token))
    assert r.status_code == 404
    assert len(platform.security.list_tokens().items) == before


def test_error_details_that_json_cannot_hold_still_serialise(
    client: TestClient,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from shipyard.errors import Conflict

    def conflict(*_a: object, **_k: object) -> None:
        raise Conflict("busy", retry_after=timedelta(seconds=3))

    monkeypatch.setattr(CatalogService, "search", conflict)
    r = client.get("/api/v1/catalog/assets", headers=bearer(admin_token))
    assert r.status_code == 409 and r.json()["details"] == {"retry_after": "0:00:03"}


def test_an_integer_past_64_bits_in_error_details_is_not_a_500() -> None:
    # The fuzzer's find: a score-table body whose huge chunk_rows came back in an error's
    # details, which orjson cannot write (a 500 instead of the 4xx).
    import json

    from shipyard.api.errors import ErrorResponse

    body = ErrorResponse({"details": {"chunk_rows": 2**70}}, status_code=422).body
    assert json.loads(body) == {"details": {"chunk_rows": 2**70}}
