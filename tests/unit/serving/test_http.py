from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.servers import live_server


@pytest.fixture
def client(served: Platform) -> Iterator[httpx.Client]:
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn@champion", weight=100)],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    served.security.create_principal("pat", role="predictor")
    served.security.create_principal("vera", role="viewer")
    with live_server(served) as url, httpx.Client(base_url=url) as c:
        yield c


def _auth(p: Platform, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {p.security.create_token(principal=name).token}"}


def test_predict_over_http(served: Platform, client: httpx.Client) -> None:
    r = client.post(
        "/api/v1/deployments/churn/predict",
        json={"inputs": [{"customer_id": 7}]},
        headers=_auth(served, "pat"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["variant"] == "a" and body["model_version"] == "churn/1"
    assert len(body["predictions"]) == 1 and body["request_id"]
    assert body["feature_status"][0]["f3"] == "PRESENT"


def test_predict_errors_over_http(served: Platform, client: httpx.Client) -> None:
    pat = _auth(served, "pat")
    url = "/api/v1/deployments/churn/predict"
    assert client.post(url, json={"inputs": [{}]}).status_code == 401
    r = client.post(url, json={"inputs": [{"customer_id": 1}]}, headers=_auth(served, "vera"))
    assert r.status_code == 403
    r = client.post(
        "/api/v1/deployments/nope/predict", json={"inputs": [{"customer_id": 1}]}, headers=pat
    )
    assert r.status_code == 404
    r = client.post(url, json={"inputs": [{"cid": 1}]}, headers=pat)
    assert r.status_code == 422 and "customer_id" in r.json()["message"]
    r = client.post(url, json={"inputs": [{"customer_id": 1.5}]}, headers=pat)
    assert r.status_code == 422 and "customer_id" in r.json()["message"]
    r = client.post(url, content=b"{not json", headers=pat)
    assert r.status_code == 422


def test_model_error_is_500_with_request_id_and_server_keeps_serving(
    served: Platform, client: httpx.Client, models
) -> None:  # type: ignore[no-untyped-def]
    from tests.unit.serving.conftest import Exploding

    v = models.add("churn", Exploding())
    served.catalog.register_asset(f"model:churn@{v}")
    served.serving.update_deployment(
        "churn", variants=[Variant(name="x", model=f"churn/{v}", weight=100)]
    )
    pat = _auth(served, "pat")
    url = "/api/v1/deployments/churn/predict"
    r = client.post(url, json={"inputs": [{"customer_id": 1}]}, headers=pat)
    assert r.status_code == 500 and r.json()["details"]["request_id"]
    assert "boom" not in r.text
    stats = client.get("/api/v1/deployments/churn/stats", headers=pat).json()
    assert stats["variants"]["x"]["errors"] == 1 == stats["process"]["x"]["errors"]
    client.post("/api/v1/deployments/churn/rollback", json={}, headers=_auth(served, "local-admin"))
    assert client.post(url, json={"inputs": [{"customer_id": 1}]}, headers=pat).status_code == 200


def test_manage_deployments_over_http(served: Platform, client: httpx.Client) -> None:
    admin = _auth(served, "local-admin")
    r = client.post(
        "/api/v1/deployments",
        headers=admin,
        json={
            "name": "churn2",
            "variants": [{"name": "a", "model": "churn/2", "weight": 100}],
            "feature_service": "churn",
            "entity_keys": ["customer_id"],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    names = [d["name"] for d in client.get("/api/v1/deployments", headers=admin).json()["items"]]
    assert names == ["churn", "churn2"]
    r = client.patch("/api/v1/deployments/churn2", headers=admin, json={"require_features": True})
    assert r.json()["version"] == 2 and r.json()["spec"]["require_features"] is True
    assert len(client.get("/api/v1/deployments/churn2/versions", headers=admin).json()) == 2
    bad = client.post(
        "/api/v1/deployments",
        headers=admin,
        json={"name": "x", "variants": [{"name": "a", "model": "churn/2", "weight": 50}]},
    )
    assert bad.status_code == 422 and "sum to 100" in bad.json()["message"]
    assert client.delete("/api/v1/deployments/churn2", headers=admin).status_code == 204
    assert client.get("/api/v1/deployments/churn2", headers=admin).status_code == 404


def test_remote_client_has_the_same_methods(served: Platform, client: httpx.Client) -> None:
    import shipyard

    token = served.security.create_token(principal="local-admin").token
    with shipyard.connect(str(client.base_url), token) as remote:
        resp = remote.serving.predict("churn", [{"customer_id": 3}], routing_key="k")
        local = served.serving.predict("churn", [{"customer_id": 3}])
        assert resp.predictions == local.predictions and resp.variant == "a"
        dep = remote.serving.update_deployment("churn", require_features=True)
        assert dep.version == 2 and remote.serving.get_deployment("churn").version == 2
        assert remote.serving.rollback_deployment("churn").version == 3
        assert [d.name for d in remote.serving.list_deployments().items] == ["churn"]
        assert len(remote.serving.list_deployment_versions("churn").items) == 3
        two = remote.serving.list_deployment_versions("churn", limit=2)
        assert len(two.items) == 2 and two.next_page_token
        last = remote.serving.list_deployment_versions("churn", page_token=two.next_page_token)
        assert len(last.items) == 1 and last.next_page_token is None
        with pytest.raises(shipyard.NotFound):
            remote.serving.predict("nope", [{"customer_id": 3}])
        assert remote.serving.flush_prediction_log() == 2
        written = remote.serving.log_ground_truth(
            "churn", [{"request_id": resp.request_id, "outcome": 1}]
        )
        assert written == 1
        report = remote.serving.get_report("churn")
        assert report.variants[0].requests == 2 and report.variants[0].labeled == 1
        ramp = remote.serving.start_canary("churn", Variant(name="c", model="churn/2"))
        assert {v.name: v.weight for v in ramp.variants} == {"a": 95, "c": 5}
        assert remote.serving.advance_canary("churn").variants[1].weight == 25
        back = remote.serving.rollback_canary("churn", reason="test")
        assert back.spec.canary is not None and back.spec.canary.reason == "test"


def test_api_start_up_preloads_deployments(served: Platform, models, features) -> None:  # type: ignore[no-untyped-def]
    from shipyard.serving.context import runtime_for

    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    fresh = Platform.open(served.settings.project_dir)  # another process, in effect
    try:
        runtime = runtime_for(fresh.serving, models=models, features=features, refresh_interval=0)
        assert runtime.cached() == {}
        with live_server(fresh):
            assert list(runtime.cached()) == ["churn"]  # before any request
    finally:
        fresh.close()
