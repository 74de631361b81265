"""The backup routes and the generated remote client: admins only, bad input is a 4xx."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

import shipyard
from shipyard.errors import NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.servers import live_server
from tests.unit.api.conftest import admin_token, app, bearer, client, token_for

__all__ = ["admin_token", "app", "client", "token_for"]  # fixtures used below

MISSING = "20261205T220000000Z-1a2b3c4d"


def test_admin_creates_lists_shows_verifies_and_prunes(
    seeded: Platform, client: TestClient, admin_token: str
) -> None:
    h = bearer(admin_token)
    r = client.post("/api/v1/backups", headers=h)
    assert r.status_code == 201, r.text
    point = r.json()
    assert point["status"] == "complete" and "files" not in point
    assert [p["id"] for p in client.get("/api/v1/backups", headers=h).json()["items"]] == [
        point["id"]
    ]
    assert client.get(f"/api/v1/backups/{point['id']}", headers=h).json()["tables"]
    assert client.post(f"/api/v1/backups/{point['id']}/verify", headers=h).json()["ok"] is True
    assert client.post("/api/v1/backups/-/prune", headers=h, json={"keep_last": 1}).json() == {
        "deleted": [],
        "kept": [point["id"]],
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/backups"),
        ("GET", "/api/v1/backups"),
        ("GET", f"/api/v1/backups/{MISSING}"),
        ("POST", f"/api/v1/backups/{MISSING}/verify"),
        ("POST", "/api/v1/backups/-/prune"),
    ],
)
def test_only_global_admins(
    seeded: Platform, client: TestClient, token_for: Callable[..., str], method: str, path: str
) -> None:
    assert client.request(method, path).status_code == 401
    other_editor = token_for("rita", role="editor", team="risk")
    team_admin = token_for("adam", role="admin", team="risk")
    seeded.security.create_principal("nobody")
    roleless = seeded.security.create_token(principal="nobody").token
    for token in (other_editor, team_admin, roleless):
        assert client.request(method, path, headers=bearer(token)).status_code == 403
    assert len(seeded.audit.list_records(principal="rita", outcome="denied").items) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/backups/..%2F..%2Fetc", None),
        ("GET", "/api/v1/backups/not-an-id", None),
        ("POST", "/api/v1/backups/x' OR 1=1/verify", None),
        ("POST", "/api/v1/backups/-/prune", {"keep_last": 0}),
        ("POST", "/api/v1/backups/-/prune", {"keep": 3}),
        ("POST", "/api/v1/backups/-/prune", {"keep_last": 2**70}),
        ("POST", "/api/v1/backups/-/prune", [1, 2]),
        ("GET", "/api/v1/backups?limit=0", None),
    ],
)
def test_malformed_input_is_a_4xx_never_a_500(
    seeded: Platform, client: TestClient, admin_token: str, method: str, path: str, body: object
) -> None:
    r = client.request(method, path, headers=bearer(admin_token), json=body)
    assert r.status_code in (400, 404, 422), r.text


def test_unknown_point_is_404(seeded: Platform, client: TestClient, admin_token: str) -> None:
    assert client.get(f"/api/v1/backups/{MISSING}", headers=bearer(admin_token)).status_code == 404


@pytest.fixture
def server_url(seeded: Platform) -> Iterator[str]:
    with live_server(seeded) as url:
        yield url


def test_remote_client(seeded: Platform, server_url: str) -> None:
    with shipyard.connect(server_url, seeded.security.create_token().token) as remote:
        point = remote.backup.create_backup()
        assert (
            remote.backup.get_backup(point.id).tables == seeded.backup.get_backup(point.id).tables
        )
        assert remote.backup.verify_backup(point.id).ok
        assert [p.id for p in remote.backup.list_backups(limit=5).items] == [point.id]
        assert remote.backup.prune_backups(keep_last=3).kept == [point.id]
        with pytest.raises(NotFound):
            remote.backup.get_backup(MISSING)
    seeded.security.create_principal("vic", role="viewer", team="default")
    token = seeded.security.create_token(principal="vic").token
    with shipyard.connect(server_url, token) as viewer, pytest.raises(PermissionDenied):
        viewer.backup.list_backups()
