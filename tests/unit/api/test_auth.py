"""Authentication and authorization over HTTP, against the real app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient

from shipyard._internal.clock import utcnow
from shipyard.api.app import PUBLIC_PATHS
from shipyard.platform import Platform
from shipyard.security.service import hash_token
from shipyard.security.tables import tokens
from tests.unit.api.conftest import bearer


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the app serves (from its OpenAPI document), path parameters filled."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        out += [(method.upper(), concrete) for method in operations]
    return out


def test_every_route_but_health_requires_a_token(app: FastAPI, client: TestClient) -> None:
    routes = _routes(app)
    assert ("GET", "/api/v1/whoami") in routes and len(routes) > 10
    for method, path in routes:
        if path in PUBLIC_PATHS:
            assert client.request(method, path).status_code == 200
            continue
        for headers in ({}, bearer("shp_not-a-real-token")):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            assert r.json()["error_code"] == "UNAUTHENTICATED"
            assert r.headers["www-authenticate"] == "Bearer"


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_openapi_document_is_served_without_a_token(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json")
    assert doc.status_code == 200 and "/api/v1/catalog/assets" in doc.json()["paths"]
    assert client.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "shp_abc", "Bearer shp_wrong"],
)
def test_missing_or_malformed_or_unknown_token_is_401(client: TestClient, header: str) -> None:
    r = client.get("/api/v1/whoami", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.json()["error_code"] == "UNAUTHENTICATED"


def test_valid_token_identifies_the_principal(
    client: TestClient, token_for: Callable[..., str]
) -> None:
    token = token_for("vera", role="viewer")
    r = client.get("/api/v1/whoami", headers=bearer(token))
    assert r.status_code == 200
    assert r.json()["name"] == "vera" and r.json()["roles"] == {"default": "viewer"}


def test_expired_token_is_401_and_audited(
    client: TestClient, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.security.create_principal("eve", role="editor")
    new = platform.security.create_token(principal="eve", expires_in=timedelta(hours=1))
    assert client.get("/api/v1/whoami", headers=bearer(new.token)).status_code == 200
    later = utcnow() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr("shipyard.security.service.utcnow", lambda: later)
    r = client.get("/api/v1/whoami", headers=bearer(new.token))
    assert r.status_code == 401 and "expired" in r.json()["message"]
    rec = platform.audit.list_records(principal="eve", action="security.authenticate").items[0]
    assert rec.outcome == "denied" and rec.details["reason"] == "token expired"


def test_revoked_token_is_refused_on_the_next_request(
    client: TestClient, admin_token: str, token_for: Callable[..., str], platform: Platform
) -> None:
    token = token_for("rob", role="editor")
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 200
    token_id = platform.security.list_tokens(principal="rob").items[0].id
    r = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(admin_token))
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    r = client.get("/api/v1/whoami", headers=bearer(token))
    assert r.status_code == 401 and "revoked" in r.json()["message"]
    rec = platform.audit.list_records(principal="rob", action="security.authenticate").items[0]
    assert rec.outcome == "denied" and rec.details["token_id"] == token_id


def test_a_principal_can_revoke_its_own_token(
    client: TestClient, token_for: Callable[..., str]
) -> None:
    token = token_for("sam", role="viewer")
    listed = client.get("/api/v1/tokens", headers=bearer(token)).json()["items"]
    assert [t["principal"] for t in listed] == ["sam"]
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers=bearer(token)).is_success
    assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 401


def test_viewer_reads_but_cannot_write_and_the_denial_is_audited(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    platform.catalog.register_asset("table:bronze.orders", description="raw orders")
    viewer = bearer(token_for("vera", role="viewer"))
    r = client.get("/api/v1/catalog/assets", params={"q": "orders"}, headers=viewer)
    assert r.status_code == 200 and [a["name"] for a in r.json()["items"]] == ["bronze.orders"]
    assert client.get("/api/v1/catalog/assets/table:bronze.orders", headers=viewer).is_success
    r = client.post("/api/v1/catalog/assets", json={"ref": "table:bronze.evil"}, headers=viewer)
    assert r.status_code == 403
    assert r.json()["error_code"] == "PERMISSION_DENIED"
    assert r.json()["details"] == {
        "action": "catalog.register",
        "permission": "write",
        "team": "default",
    }
    r = client.patch(
        "/api/v1/catalog/assets/table:bronze.orders", json={"description": "x"}, headers=viewer
    )
    assert r.status_code == 403
    denied = platform.audit.list_records(principal="vera", outcome="denied").items
    assert {(d.action, d.asset) for d in denied} == {
        ("catalog.register", "table:bronze.evil"),
        ("catalog.update", "table:bronze.orders"),
    }
    assert platform.catalog.get_asset("table:bronze.orders").description == "raw orders"
    assert platform.catalog.search("evil").items == []


def test_editor_writes_in_its_team_only(client: TestClient, token_for: Callable[..., str]) -> None:
    editor = bearer(token_for("ed", role="editor", team="ml"))
    ok = client.post(
        "/api/v1/catalog/assets", json={"ref": "model:churn", "owner": "ml"}, headers=editor
    )
    assert ok.status_code == 201 and ok.json()["created_by"] == "ed"
    other = client.post(
        "/api/v1/catalog/assets", json={"ref": "model:risk", "owner": "risk"}, headers=editor
    )
    assert other.status_code == 403


def test_admin_only_actions_are_403_for_others(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    editor = bearer(token_for("ed", role="editor"))
    assert client.post("/api/v1/principals", json={"name": "x"}, headers=editor).status_code == 403
    r = client.post("/api/v1/tokens", json={"principal": "local-admin"}, headers=editor)
    assert r.status_code == 403
    assert (
        client.get("/api/v1/audit", params={"principal": "local-admin"}, headers=editor).status_code
        == 403
    )
    actions = {
        r.action for r in platform.audit.list_records(principal="ed", outcome="denied").items
    }
    assert actions == {"security.create_principal", "security.create_token", "audit.list"}
    assert [t.principal for t in platform.security.list_tokens().items].count("local-admin") == 0


def test_non_admin_sees_only_its_own_audit_records(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    platform.catalog.register_asset("table:bronze.orders")
    editor = bearer(token_for("ed", role="editor"))
    client.post("/api/v1/catalog/assets", json={"ref": "table:bronze.x"}, headers=editor)
    items = client.get("/api/v1/audit", headers=editor).json()["items"]
    assert items and {i["principal"] for i in items} == {"ed"}


def test_tokens_are_shown_once_and_stored_hashed(
    client: TestClient, admin_token: str, platform: Platform
) -> None:
    platform.security.create_principal("svc", kind="service", role="predictor")
    r = client.post(
        "/api/v1/tokens", json={"principal": "svc", "name": "ci"}, headers=bearer(admin_token)
    )
    assert r.status_code == 201
    secret = r.json()["token"]
    assert secret.startswith("shp_") and len(secret) > 40
    listed = client.get("/api/v1/tokens", headers=bearer(admin_token))
    assert secret not in listed.text and "token_hash" not in listed.text
    assert any(t["name"] == "ci" and secret.startswith(t["prefix"]) for t in listed.json()["items"])
    with platform.context.db.connect() as conn:
        stored = conn.execute(sa.select(tokens.c.token_hash).where(tokens.c.name == "ci")).scalar()
    assert stored == hash_token(secret)
    platform.close()  # flush the WAL into the file, then look at every byte on disk
    home = Path(platform.settings.home_dir)
    for f in home.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_last_use_is_recorded(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    token = token_for("vera")
    assert platform.security.list_tokens(principal="vera").items[0].last_used_at is None
    client.get("/api/v1/whoami", headers=bearer(token))
    assert platform.security.list_tokens(principal="vera").items[0].last_used_at is not None


def test_authentication_is_one_query(
    client: TestClient, platform: Platform, token_for: Callable[..., str]
) -> None:
    token = token_for("vera")
    client.get("/api/v1/whoami", headers=bearer(token))  # records last use (a throttled write)
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    engine = platform.context.db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/whoami", headers=bearer(token)).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert "token_hash" in statements[0]
    with platform.context.db.connect() as conn:  # every table reached by an index, no scan
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statements[0], ("x",)).all()
    steps = [row[-1] for row in plan]
    assert len(steps) == 3 and all("USING INDEX" in s for s in steps), steps
    assert "(token_hash=?)" in steps[0]
