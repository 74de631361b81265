"""The dedicated inference server answers like the full API (same auth, bodies, errors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from shipyard.api.auth import TokenCheck
from shipyard.errors import Unauthenticated
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.server import create_serving_app
from tests.servers import live_server
from tests.unit.serving.conftest import Exploding, MemoryModels


@pytest.fixture
def url(served: Platform) -> Iterator[str]:
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    served.security.create_principal("pat", role="predictor")
    served.security.create_principal("vera", role="viewer")
    with live_server(served, create_serving_app) as u:
        yield u


def _auth(p: Platform, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.security.create_token(principal=name).token}"}


def test_predict_and_errors_match_the_api(served: Platform, url: str, models: MemoryModels) -> None:
    pat = _auth(served, "pat")
    path = f"{url}/api/v1/deployments/churn/predict"
    r = httpx.post(path, json={"inputs": [{"customer_id": 3}]}, headers=pat)
    assert r.status_code == 200
    assert (
        r.json()["predictions"] == served.serving.predict("churn", [{"customer_id": 3}]).predictions
    )
    assert httpx.post(path, json={"inputs": [{"customer_id": 3}]}).status_code == 401
    denied = httpx.post(path, json={"inputs": [{"customer_id": 3}]}, headers=_auth(served, "vera"))
    assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
    missing = httpx.post(f"{url}/api/v1/deployments/nope/predict", json={"inputs": []}, headers=pat)
    assert missing.status_code == 404
    bad = httpx.post(path, json={"inputs": [{"customer_id": "7", "x": 1}, {}]}, headers=pat)
    assert bad.status_code == 422 and "inputs[1]: missing entity key" in bad.json()["message"]
    assert httpx.post(path, content=b"{", headers=pat).status_code == 422
    v = models.add("churn", Exploding())
    served.catalog.register_asset(f"model:churn@{v}")
    served.serving.update_deployment("churn", variants=[Variant(name="x", model=f"churn/{v}")])
    boom = httpx.post(path, json={"inputs": [{"customer_id": 3}]}, headers=pat)
    assert boom.status_code == 500 and boom.json()["details"]["request_id"]
    assert httpx.get(f"{url}/v2/health/live").json() == {"live": True}


def test_tritonclient_against_the_inference_server(served: Platform, url: str) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=url.removeprefix("http://"))
    headers = _auth(served, "pat")
    assert client.is_model_ready("churn", headers=headers)
    x = httpclient.InferInput("customer_id", [2], "INT64")
    x.set_data_from_numpy(np.array([3, 4], dtype=np.int64))
    got = client.infer("churn", [x], headers=headers).as_numpy("predictions")
    local = served.serving.predict("churn", [{"customer_id": 3}, {"customer_id": 4}]).predictions
    assert np.allclose(got, local)
    client.close()


@pytest.mark.parametrize("edge", ["inference server", "api"])
def test_revocation_and_role_changes_end_a_cached_token_at_once(
    served: Platform, edge: str
) -> None:
    """docs/adr/0003: the token cache (here 30 s) never outlives a revocation or a role change."""
    from shipyard.api.app import create_app

    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    served.security.create_principal("pat", role="predictor")
    new = served.security.create_token(principal="pat")
    headers = {"Authorization": f"Bearer {new.token}"}

    def factory(p: Platform) -> Any:
        app = create_serving_app(p) if edge == "inference server" else create_app(p)
        app.state.token_check = TokenCheck(p, max_age=30.0)
        return app

    with live_server(served, factory) as u:
        path = f"{u}/api/v1/deployments/churn/predict"
        body = {"inputs": [{"customer_id": 3}]}
        assert httpx.post(path, json=body, headers=headers).status_code == 200
        assert httpx.post(path, json=body, headers=headers).status_code == 200  # cached
        served.security.revoke_role("pat", team="default")
        assert httpx.post(path, json=body, headers=headers).status_code == 403
        served.security.grant("pat", team="default", role="predictor")
        assert httpx.post(path, json=body, headers=headers).status_code == 200
        served.security.revoke_token(new.info.id)
        r = httpx.post(path, json=body, headers=headers)
        assert r.status_code == 401 and r.json()["message"] == "token has been revoked"


def test_a_verified_token_is_reused_without_a_query(served: Platform) -> None:
    served.security.create_principal("pat", role="predictor")
    token = served.security.create_token(principal="pat").token
    check = TokenCheck(served, max_age=30.0)
    header = f"Bearer {token}"
    assert check.cached(header) is None
    check.caller(header)  # its first use writes last_used_at: a commit, so the stamp moves
    first = check.caller(header)
    assert check.cached(header) is first
    fresh = TokenCheck(served, max_age=0)
    assert fresh.caller(header).principal.name == "pat" and fresh.cached(header) is None
    with pytest.raises(Unauthenticated):
        check.caller("Bearer shp_not-a-token")
    with pytest.raises(Unauthenticated):
        check.caller("Basic abc")


def test_security_writes_notify_the_catalog_change_channel() -> None:
    from shipyard.catalog import changes
    from shipyard.security import store

    assert store.CHANGES_CHANNEL == changes.CHANNEL  # what TokenCheck's stamp listens to


def test_the_inference_server_holds_rate_quotas(served: Platform, url: str) -> None:
    """The standalone server counts requests against the caller's rate quota, as the API does."""
    served.quotas.set_quota("principal", "pat", "requests_per_second", 2)
    pat = _auth(served, "pat")
    path = f"{url}/api/v1/deployments/churn/predict"
    codes = [httpx.post(path, json={"inputs": [{"customer_id": 3}]}, headers=pat) for _ in range(4)]
    refused = [r for r in codes if r.status_code == 429]
    assert refused, [r.status_code for r in codes]
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert refused[0].json()["details"]["resource"] == "requests_per_second"
