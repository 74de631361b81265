"""Who may deploy which model versions (issue #10, finding 5 and the ``deploy`` permission)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import PermissionDenied
from shipyard.platform import Platform
from shipyard.security.models import ROLE_PERMISSIONS, Permission, Role
from shipyard.serving import Variant
from tests.servers import live_server

COLS = ["a", "b"]
FIELDS = {c: "float64" for c in COLS}


def _register(p: Platform, name: str, versions: int = 2, owner: str = "ml") -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 2)), columns=COLS)
    for i in range(versions):
        with p.tracking.start_run(experiment=f"{name}-exp") as run:
            run.log_model(LogisticRegression(C=1.0 + i).fit(X, X.a > X.b), "model")
        p.registry.register_model(name, source=f"runs:/{run.id}/model", owner=owner)


@pytest.fixture
def churn(platform: Platform) -> Platform:
    """Team ml's model churn v1, v2; ``churn@champion -> v1`` approved; deployment churn
    serves ``churn@champion``; ``churn@champion -> v2`` waits for approval."""
    sec = platform.security
    sec.create_principal("ann", team="ml", role="approver")
    sec.create_principal("eve", team="ml", role="editor")
    sec.create_principal("mal", team="other", role="editor")
    sec.create_principal("vic", team="ml", role="viewer")
    _register(platform, "churn")
    ann = platform.as_principal(sec.get_principal("ann"))
    ann.registry.approve_promotion(platform.registry.set_alias("churn", "champion", 1).id)
    platform.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn@champion")],
        request_fields=FIELDS,
        owner="ml",
    )
    assert platform.registry.set_alias("churn", "champion", 2).status == "pending"
    return platform


def _as(p: Platform, name: str) -> Platform:
    return p.as_principal(p.security.get_principal(name))


@pytest.fixture
def http(churn: Platform) -> Iterator[httpx.Client]:
    with live_server(churn) as url, httpx.Client(base_url=url) as c:
        yield c


def _auth(p: Platform, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.security.create_token(principal=name).token}"}


def test_pending_promotion_is_not_bypassed_by_patching_the_deployment(
    churn: Platform, http: httpx.Client
) -> None:
    """Finding 5 verbatim: PATCH /api/v1/deployments/churn with variant model churn/2."""
    body = {"variants": [{"name": "a", "model": "churn/2", "weight": 100}]}
    r = http.patch("/api/v1/deployments/churn", json=body, headers=_auth(churn, "eve"))
    assert r.status_code == 403, r.text
    message = r.json()["message"]
    assert "churn@champion" in message and "promotion" in message and "\n" not in message
    served = churn.serving.predict("churn", [{"a": 1.0, "b": 0.0}])
    assert served.model_version == "churn/1"
    denied = churn.audit.list_records(action="serving.update_deployment", outcome="denied")
    assert [e.principal for e in denied.items] == ["eve"]


def test_rollback_and_unprotected_alias_do_not_bypass_either(churn: Platform) -> None:
    eve = _as(churn, "eve")
    churn.registry.set_alias("churn", "staging", 2)  # not protected: moves at once
    with pytest.raises(PermissionDenied, match="promotion"):
        eve.serving.update_deployment("churn", variants=[Variant(name="a", model="churn@staging")])
    # a shadow copy of the candidate is fine: its answers are never returned
    dep = eve.serving.update_deployment(
        "churn",
        variants=[
            Variant(name="a", model="churn@champion"),
            Variant(name="s", model="churn/2", weight=0, shadow=True),
        ],
    )
    assert dep.version == 2
    assert eve.serving.update_deployment("churn", log_predictions=False).version == 3


def test_the_alias_approval_moves_the_deployment(churn: Platform) -> None:
    ann = _as(churn, "ann")
    (pending,) = churn.registry.list_promotions(name="churn", status="pending").items
    ann.registry.approve_promotion(pending.id)
    churn.serving.runtime.refresh()
    assert churn.serving.predict("churn", [{"a": 1.0, "b": 0.0}]).model_version == "churn/2"


def test_an_admin_may_serve_a_direct_version(churn: Platform) -> None:
    dep = churn.serving.update_deployment("churn", variants=[Variant(name="a", model="churn/2")])
    assert dep.spec.variants[0].model == "churn/2"
    done = churn.audit.list_records(action="serving.update_deployment", outcome="ok")
    assert len(done.items) == 1


def test_deploy_needs_the_deploy_permission_on_the_models_team(churn: Platform) -> None:
    mal = _as(churn, "mal")  # editor of team other: may write its own deployments
    with pytest.raises(PermissionDenied, match="deploy"):
        mal.serving.create_deployment(
            "stolen",
            variants=[Variant(name="a", model="churn/1")],
            request_fields=FIELDS,
            owner="other",
        )
    # an editor of team other who may read team ml's models still may not serve them
    churn.security.create_principal("dan", team="other", role="editor")
    churn.security.grant("dan", team="ml", role="viewer")
    dan = _as(churn, "dan")
    assert dan.registry.get_model_version("churn", 1).version == 1
    with pytest.raises(PermissionDenied, match="'deploy' on team 'ml'"):
        dan.serving.create_deployment(
            "stolen",
            variants=[Variant(name="a", model="churn/1")],
            request_fields=FIELDS,
            owner="other",
        )
    vic = _as(churn, "vic")
    with pytest.raises(PermissionDenied):
        vic.serving.create_deployment(
            "mine", variants=[Variant(name="a", model="churn/1")], request_fields=FIELDS, owner="ml"
        )
    churn.serving.update_deployment("churn", log_predictions=False)
    for who in (vic, mal):
        with pytest.raises(PermissionDenied):
            who.serving.rollback_deployment("churn")
    eve = _as(churn, "eve")  # editor of team ml may
    dep = eve.serving.create_deployment(
        "fresh", variants=[Variant(name="a", model="churn/1")], request_fields=FIELDS, owner="ml"
    )
    assert dep.version == 1
    denied = churn.audit.list_records(action="serving.create_deployment", outcome="denied")
    assert {e.principal for e in denied.items} == {"mal", "dan", "vic"}
    denied = churn.audit.list_records(action="serving.rollback_deployment", outcome="denied")
    assert {e.principal for e in denied.items} == {"mal", "vic"}


def test_deploy_permission_by_role() -> None:
    assert Permission.DEPLOY in ROLE_PERMISSIONS[Role.EDITOR]
    assert Permission.DEPLOY in ROLE_PERMISSIONS[Role.ADMIN]
    for role in (Role.VIEWER, Role.PREDICTOR, Role.APPROVER):
        assert Permission.DEPLOY not in ROLE_PERMISSIONS[role]
