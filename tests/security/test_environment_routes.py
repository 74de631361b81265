"""The environment routes against hostile callers, on a project with dev and prod.

Each environment has its own catalog, so its own principals and tokens: ``dev``'s
API promotes out of dev, ``prod``'s API is where prod's approvers decide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.platform import Platform
from tests.unit.environments.conftest import model_in

V1 = "/api/v1/environments"


@dataclass
class Two:
    dev: TestClient
    prod: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    version: int = 1

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _people(p: Platform, env: str, tokens: dict[str, str], people: dict[str, tuple]) -> None:
    for name, (team, role) in people.items():
        p.security.create_principal(name, team=team, role=role)
        tokens[f"{env}:{name}"] = p.security.create_token(principal=name).token


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Two]:
    project: Path = tmp_path_factory.mktemp("envroutes")
    (project / "shipyard.yaml").write_text("environments:\n  names: [dev, prod]\n")
    dev = Platform.open(project, environment="dev")
    prod = Platform.open(project, environment="prod")
    tokens: dict[str, str] = {}
    everyone = {
        "ml_editor": ("ml", "editor"),
        "ml_viewer": ("ml", "viewer"),
        "risk_editor": ("risk", "editor"),
        "boss": ("*", "admin"),
    }
    _people(dev, "dev", tokens, everyone)
    _people(prod, "prod", tokens, {**everyone, "ml_approver": ("ml", "approver")})
    version = model_in(dev, "churn")
    try:
        with TestClient(create_app(dev)) as d, TestClient(create_app(prod)) as q:
            yield Two(d, q, tokens, version)
    finally:
        dev.close()
        prod.close()


def _promote(two: Two, who: str, target: str = "prod", name: str = "churn") -> object:
    return two.dev.post(
        f"{V1}/{target}/models/{name}/versions/{two.version}", json={}, headers=two.as_(who)
    )


@pytest.mark.parametrize("who", ["dev:ml_viewer", "dev:risk_editor"])
def test_a_viewer_or_another_team_cannot_promote(two: Two, who: str) -> None:
    r = _promote(two, who)
    assert r.status_code in (403, 404), r.text
    assert "weights" not in r.text


def test_the_requester_cannot_approve_but_a_second_approver_can(two: Two) -> None:
    r = _promote(two, "dev:ml_editor")
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["status"] == "pending" and request["target"] == "prod"
    approve = f"{V1}/-/promotions/{request['id']}/approve"
    assert two.prod.post(approve, json={}, headers=two.as_("prod:ml_editor")).status_code == 403
    assert two.prod.post(approve, json={}, headers=two.as_("prod:risk_editor")).status_code == 403
    seen = two.prod.get(f"{V1}/-/promotions/{request['id']}", headers=two.as_("prod:risk_editor"))
    assert seen.status_code == 403
    ok = two.prod.post(approve, json={"comment": "lgtm"}, headers=two.as_("prod:ml_approver"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved" and ok.json()["result"]["version"] == 1


def test_definitions_are_for_admins(two: Two) -> None:
    for who in ("dev:ml_editor", "dev:ml_viewer"):
        assert two.dev.get(f"{V1}/prod/plan", headers=two.as_(who)).status_code == 403
        r = two.dev.post(f"{V1}/prod/definitions", json={"digest": "x"}, headers=two.as_(who))
        assert r.status_code == 403


def test_nothing_to_promote_is_a_409_and_no_request(two: Two) -> None:
    plan = two.dev.get(f"{V1}/prod/plan", headers=two.as_("dev:boss"))
    assert plan.status_code == 200, plan.text
    assert plan.json()["refused"] == [] and plan.json()["resources"] == []
    body = {"digest": plan.json()["digest"]}
    r = two.dev.post(f"{V1}/prod/definitions", json=body, headers=two.as_("dev:boss"))
    assert r.status_code == 409 and "nothing to promote" in r.text
    queue = two.prod.get(f"{V1}/-/promotions", headers=two.as_("prod:boss")).json()
    assert not [p for p in queue["items"] if p["kind"] == "definitions"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{V1}/PROD!/models/churn/versions/1", {}),
        ("POST", f"{V1}/qa/models/churn/versions/1", {}),
        ("POST", f"{V1}/dev/models/churn/versions/1", {}),
        ("POST", f"{V1}/prod/models/churn/versions/-1", {}),
        ("POST", f"{V1}/prod/models/churn/versions/99999999999999999999", {}),
        ("POST", f"{V1}/prod/models/churn/versions/1", {"comment": 3, "extra": 1}),
        ("POST", f"{V1}/prod/definitions", {}),
        ("POST", f"{V1}/prod/definitions", {"digest": "x" * 10_000}),
        ("POST", f"{V1}/-/promotions/{'x' * 5000}/approve", {}),
        ("GET", f"{V1}/-/promotions?status=bogus", None),
        ("GET", f"{V1}/nope", None),
        ("GET", f"{V1}/-/promotions?limit=0", None),
    ],
)
def test_malformed_input_is_a_4xx(two: Two, method: str, path: str, body: object) -> None:
    r = two.dev.request(method, path, json=body, headers=two.as_("dev:ml_editor"))
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


def test_no_token_is_401(two: Two) -> None:
    assert two.dev.get(V1).status_code == 401
    assert two.dev.post(f"{V1}/prod/models/churn/versions/1", json={}).status_code == 401


def test_the_remote_client_promotes_and_approves(tmp_path: Path) -> None:
    """``shipyard.connect(...).environments``: the same calls over HTTP, errors typed."""
    import shipyard
    from shipyard.errors import PermissionDenied
    from tests.servers import live_server

    (tmp_path / "shipyard.yaml").write_text("environments:\n  names: [dev, prod]\n")
    dev = Platform.open(tmp_path, environment="dev")
    prod = Platform.open(tmp_path, environment="prod")
    try:
        version = model_in(dev, "remote")
        dev.security.create_principal("ed", team="ml", role="editor")
        prod.security.create_principal("ed", team="ml", role="editor")
        prod.security.create_principal("amy", team="ml", role="approver")
        ed = dev.security.create_token(principal="ed").token
        amy = prod.security.create_token(principal="amy").token
        ed_prod = prod.security.create_token(principal="ed").token
        with (
            live_server(dev) as dev_url,
            live_server(prod) as prod_url,
            shipyard.connect(dev_url, ed) as asker,
            shipyard.connect(prod_url, ed_prod) as self_approver,
            shipyard.connect(prod_url, amy) as approver,
        ):
            asked = asker.environments
            assert [e.name for e in asked.list_environments()] == ["dev", "prod"]
            request = asked.promote_model("remote", version, target="prod", comment="go")
            assert request.status == "pending"
            with pytest.raises(PermissionDenied):
                self_approver.environments.approve_promotion(request.id)
            done = approver.environments.approve_promotion(request.id)
            assert done.status == "approved" and done.result["version"] == 1
    finally:
        dev.close()
        prod.close()
