"""``/api/v1/audit/verify`` and ``shipyard audit verify``: admins walk the chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from shipyard.cli.main import run
from shipyard.governance.tables import audit_log
from shipyard.platform import Platform
from tests.unit.api.conftest import bearer


def _tamper(platform: Platform) -> int:
    with platform.context.db.begin() as conn:
        first = conn.execute(sa.select(sa.func.min(audit_log.c.id))).scalar_one()
        conn.execute(audit_log.update().where(audit_log.c.id == first).values(outcome="ok!"))
    return int(first)


def test_admins_verify_over_http_and_others_are_refused(
    client: TestClient, platform: Platform, admin_token: str, token_for: Callable[..., str]
) -> None:
    viewer = token_for("vera", role="viewer")
    for method in ("GET", "POST"):
        r = client.request(method, "/api/v1/audit/verify", headers=bearer(admin_token))
        assert r.status_code == 200 and r.json()["ok"] is True, r.text
        assert r.json()["rows_checked"] >= 3
    r = client.post("/api/v1/audit/verify", headers=bearer(viewer))
    assert r.status_code == 403
    bad = _tamper(platform)
    r = client.get("/api/v1/audit/verify", headers=bearer(admin_token))
    assert r.status_code == 200 and r.json()["ok"] is False
    assert r.json()["problem"]["id"] == bad and r.json()["problem"]["kind"] == "edited"


def test_cli_exits_non_zero_on_a_broken_chain(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Platform.open(project_dir) as p:
        p.catalog.register_asset("table:bronze.orders")
    assert run(["-C", str(project_dir), "audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    with Platform.open(project_dir) as p:
        bad = _tamper(p)
    assert run(["-C", str(project_dir), "audit", "verify", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["problem"]["id"] == bad
    assert run(["-C", str(project_dir), "audit", "verify"]) == 1
    assert f"broken at row {bad}" in capsys.readouterr().out
