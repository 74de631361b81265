"""``POST /platform/plan|apply`` and the remote client, including hostile callers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import shipyard
from shipyard import platform_code as pc
from shipyard.errors import PermissionDenied
from shipyard.platform import Platform
from tests.servers import live_server
from tests.unit.platform_code.conftest import Write

V1 = "/api/v1/platform"


def test_remote_plan_apply_and_hostile_callers(plat: Platform, write: Write) -> None:
    sec = plat.security
    sec.create_principal("mal", team="risk", role="editor")
    sec.create_principal("nob", team="ml", role="viewer")
    sec.revoke_role("nob", team="ml")
    tokens = {n: sec.create_token(principal=n).token for n in ("mal", "nob")}
    admin = sec.create_token().token
    files: list[Path] = write(features="", pipelines="")
    with live_server(plat) as url:
        with shipyard.connect(url, admin) as remote:
            plan = pc.plan(remote, files)  # the files are read here; JSON travels
            assert {c.kind for c in plan.pending} == {"principal", "quota", "table"}
            assert len(pc.apply(remote, plan).pending) == 4
            assert pc.apply(remote, plan).pending == []  # a second apply is a no-op
        assert plat.lake.get_definition("silver.orders").owner == "ml"

        body = {"plan": plan.model_dump(mode="json")}
        for who in ("mal", "nob"):  # another team's editor, a role-less token
            with shipyard.connect(url, tokens[who]) as hostile, pytest.raises(PermissionDenied):
                pc.plan(hostile, files)
            r = httpx.post(f"{url}{V1}/apply", json=body, headers=_auth(tokens[who]))
            assert r.status_code == 403, r.text

        malformed = [
            {"plan": {"fingerprint": "not-hex"}},
            {"plan": {**body["plan"], "format": "x"}},
            {"plan": body["plan"], "extra": 1},
            {"plan": {**body["plan"], "desired": {"resources": [{"kind": "table"}]}}},
            {"plan": []},
        ]
        for bad in malformed:
            r = httpx.post(f"{url}{V1}/apply", json=bad, headers=_auth(admin))
            assert r.status_code == 422, (bad, r.text)
        unknown = {"desired": {"resources": [{"kind": "cluster", "name": "a", "spec": {}}]}}
        r = httpx.post(f"{url}{V1}/plan", json=unknown, headers=_auth(admin))
        assert r.status_code == 422 and "unknown resource kind" in r.json()["message"], r.text
        assert r.json()["error_code"] == "INVALID_ARGUMENT"
        dangling = {
            "desired": {
                "resources": [
                    {
                        "kind": "quota",
                        "name": "q",
                        "spec": {"scope": "team", "subject": "t", "resource": "x", "limit": 1},
                        "source": "f.yaml:1",
                    },
                    {"kind": "table", "name": "t", "spec": {"name": 3}, "source": "f.yaml:2"},
                ]
            }
        }
        r = httpx.post(f"{url}{V1}/plan", json=dangling, headers=_auth(admin))
        assert r.status_code == 422 and r.json()["message"].startswith("f.yaml:1: "), r.text
        r = httpx.post(f"{url}{V1}/plan", content=b"{", headers=_auth(admin))
        assert r.status_code == 422


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
