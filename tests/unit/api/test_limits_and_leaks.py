"""Per-call limits (finding 8) and the smaller leaks of finding 10, over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.errors import QuotaExceeded
from shipyard.platform import Platform
from tests.unit.api.conftest import bearer


@pytest.fixture
def small_platform(project_dir: Path) -> Iterator[Platform]:
    with Platform.open(
        project_dir,
        server={"max_body_bytes": 4096, "max_predict_rows": 3},
        online={"max_rows_per_call": 3},
    ) as p:
        yield p


@pytest.fixture
def small_client(small_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(small_platform), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def small_admin(small_platform: Platform) -> str:
    return small_platform.security.create_token(name="admin").token


def test_request_body_over_the_limit_is_413(small_client: TestClient, small_admin: str) -> None:
    big = {"records": [{"x": "y" * 100}] * 100}
    r = small_client.post(
        "/api/v1/lake/tables/bronze.t/rows", json=big, headers=bearer(small_admin)
    )
    assert r.status_code == 413, r.text
    assert r.json()["error_code"] == "INVALID_ARGUMENT"
    assert "server.max_body_bytes" in r.json()["message"]


def test_streamed_body_over_the_limit_is_413(small_client: TestClient, small_admin: str) -> None:
    def chunks() -> Iterator[bytes]:  # no content-length: counted as it arrives
        for _ in range(10):
            yield b"x" * 1000

    r = small_client.put(
        "/api/v1/tracking/runs/r1/artifacts/content",
        params={"path": "a.bin"},
        content=chunks(),
        headers=bearer(small_admin),
    )
    assert r.status_code == 413, r.text


def test_online_rows_per_call_is_a_quota(small_client: TestClient, small_admin: str) -> None:
    rows = [{"user_id": i} for i in range(4)]
    r = small_client.post(
        "/api/v1/features/online",
        json={"features": ["v:f"], "entity_rows": rows},
        headers=bearer(small_admin),
    )
    assert r.status_code == 429, r.text
    assert r.json()["error_code"] == "QUOTA_EXCEEDED"
    assert "online.max_rows_per_call" in r.json()["message"]


def test_row_limits_hold_in_the_sdk(small_platform: Platform) -> None:
    rows = [{"user_id": i} for i in range(4)]
    with pytest.raises(QuotaExceeded, match=r"online\.max_rows_per_call"):
        small_platform.features.get_online_features(["v:f"], entity_rows=rows)
    with pytest.raises(QuotaExceeded, match=r"server\.max_predict_rows"):
        small_platform.serving.predict("churn", rows)


def test_predict_rows_per_call_is_a_quota(small_client: TestClient, small_admin: str) -> None:
    r = small_client.post(
        "/api/v1/deployments/churn/predict",
        json={"inputs": [{"user_id": i} for i in range(4)]},
        headers=bearer(small_admin),
    )
    assert r.status_code == 429, r.text
    assert "server.max_predict_rows" in r.json()["message"]


def test_a_crash_answers_500_with_an_id_and_keeps_the_connection(platform: Platform) -> None:
    app: FastAPI = create_app(platform)

    @app.get("/api/v1/-/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /etc/passwd")

    # raise_server_exceptions=True: a re-raised exception (which makes uvicorn drop
    # the keep-alive connection) would surface here instead of a response.
    with TestClient(app) as c:
        token = platform.security.create_token(name="admin").token
        r = c.get("/api/v1/-/boom", headers=bearer(token))
    assert r.status_code == 500
    assert "secret" not in r.text and r.json()["details"]["request_id"]


# -- finding 10 ------------------------------------------------------------------------------


def test_flush_log_needs_admin_of_every_team(
    client: TestClient, token_for: Callable[..., str], admin_token: str
) -> None:
    for name, role in (("vera", "viewer"), ("eddie", "editor")):
        r = client.post(
            "/api/v1/deployments/-/flush-log", headers=bearer(token_for(name, role=role))
        )
        assert r.status_code == 403, r.text
    assert (
        client.post("/api/v1/deployments/-/flush-log", headers=bearer(admin_token)).status_code
        == 200
    )


def test_alias_policy_needs_read_on_the_models_team(
    platform: Platform, client: TestClient, token_for: Callable[..., str]
) -> None:
    platform.registry.create_registered_model("churn", owner="ml")
    outsider = token_for("otto", role="viewer", team="default")
    r = client.get("/api/v1/registry/models/churn/policies/champion", headers=bearer(outsider))
    assert r.status_code == 403, r.text
    insider = token_for("ian", role="viewer", team="ml")
    r = client.get("/api/v1/registry/models/churn/policies/champion", headers=bearer(insider))
    assert r.status_code == 200, r.text


def test_artifact_location_hides_server_paths_from_non_admins(
    platform: Platform, client: TestClient, admin_token: str, token_for: Callable[..., str]
) -> None:
    exp = platform.tracking.create_experiment("paths")
    run = platform.tracking.create_run(experiment_id=exp.id)
    root = str(platform.settings.home_dir)
    editor = token_for("eddie", role="editor")
    got = client.get(f"/api/v1/tracking/experiments/{exp.id}", headers=bearer(editor)).json()
    assert got["artifact_location"] == f"mlflow-artifacts:/{exp.id}"
    listed = client.get("/api/v1/tracking/experiments", headers=bearer(editor)).json()
    assert all(root not in e["artifact_location"] for e in listed["items"])
    got_run = client.get(f"/api/v1/tracking/runs/{run.id}", headers=bearer(editor)).json()
    assert got_run["artifact_uri"].startswith("mlflow-artifacts:/") and root not in str(got_run)
    admin = client.get(f"/api/v1/tracking/experiments/{exp.id}", headers=bearer(admin_token))
    assert admin.json()["artifact_location"].startswith("/")


def test_malformed_json_without_a_token_is_401(client: TestClient) -> None:
    for headers in ({}, bearer("shp_wrong")):
        r = client.post(
            "/api/v1/catalog/assets",
            content=b"{not json",
            headers={**headers, "content-type": "application/json"},
        )
        assert r.status_code == 401, r.text
        assert r.json()["error_code"] == "UNAUTHENTICATED"


def test_another_teams_asset_is_a_403_before_any_other_error(
    platform: Platform, client: TestClient, token_for: Callable[..., str]
) -> None:
    """One rule: a named asset the caller may not read answers 403, never a 404 about its content."""
    platform.lake.write("gold.secret", pa.table({"id": [1]}), owner="ml")
    platform.registry.create_registered_model("secret-model", owner="ml")
    h = bearer(token_for("mallory", role="editor", team="other"))
    for path in (
        "/api/v1/lake/tables/gold.secret/definition",
        "/api/v1/lake/tables/gold.secret/rows?version=99",
        "/api/v1/lake/columns/gold.secret.nope/lineage",
        "/api/v1/registry/models/secret-model/versions/7",
        "/api/v1/registry/models/secret-model/aliases/champion",
        "/api/v1/registry/models/secret-model/policies/champion",
    ):
        r = client.get(path, headers=h)
        assert r.status_code == 403, (path, r.text)
        assert "no definition" not in r.text and "no version" not in r.text
