"""Auth against a real `shipyard serve` process on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.platform import Platform
from tests.servers import served_project


@pytest.fixture
def served(project_dir: Path) -> Iterator[tuple[str, Platform]]:
    """(base URL, the same project opened in-process) while `shipyard serve` runs."""
    platform = Platform.open(project_dir)
    try:
        with served_project(project_dir) as url:
            yield url, platform
    finally:
        platform.close()


def test_real_server_enforces_tokens(served: tuple[str, Platform]) -> None:
    url, platform = served
    admin = platform.security.create_token(name="admin").token
    platform.security.create_principal("vera", role="viewer")
    viewer = platform.security.create_token(principal="vera").token

    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/api/v1/health").json()["status"] == "ok"
        r = http.get("/api/v1/whoami")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert (
            http.get("/api/v1/whoami", headers={"Authorization": "Bearer shp_nope"}).status_code
            == 401
        )
        me = http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {viewer}"})
        assert me.status_code == 200 and me.json()["name"] == "vera"

        as_viewer = {"Authorization": f"Bearer {viewer}"}
        assert http.get("/api/v1/catalog/assets", headers=as_viewer).status_code == 200
        r = http.post("/api/v1/catalog/assets", json={"ref": "table:x.y"}, headers=as_viewer)
        assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"

        as_admin = {"Authorization": f"Bearer {admin}"}
        token_id = platform.security.list_tokens(principal="vera").items[0].id
        assert http.delete(f"/api/v1/tokens/{token_id}", headers=as_admin).status_code == 200
        r = http.get("/api/v1/whoami", headers=as_viewer)
        assert r.status_code == 401 and "revoked" in r.json()["message"]

    denied = platform.audit.list_records(principal="vera", outcome="denied").items
    assert {d.action for d in denied} == {"catalog.register", "security.authenticate"}
