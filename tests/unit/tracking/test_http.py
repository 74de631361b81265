"""The /api/v1 tracking routes and the MLflow edge in-process (no server process)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from shipyard.api.app import create_app
from shipyard.platform import Platform

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx works
    from fastapi.testclient import TestClient


@pytest.fixture
def http(platform: Platform) -> Iterator[TestClient]:
    token = platform.security.create_token(name="t").token
    with TestClient(create_app(platform), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def test_v1_run_flow_and_typed_errors(http: TestClient) -> None:
    run = http.post("/api/v1/tracking/runs", json={"experiment": "e", "run_name": "r"}).json()
    rid = run["id"]
    body = {"metrics": [{"key": "auc", "value": 0.9}], "params": {"model": "rf"}}
    assert http.post(f"/api/v1/tracking/runs/{rid}/log", json=body).json() == {"metrics_written": 1}
    again = http.post(f"/api/v1/tracking/runs/{rid}/log", json={"params": {"model": "gbm"}})
    assert again.status_code == 409 and again.json()["error_code"] == "CONFLICT"
    bad = http.post(
        "/api/v1/tracking/runs/search", json={"experiments": ["e"], "filter": "metrics.auc >"}
    )
    assert bad.status_code == 422 and "position" in bad.json()["message"]
    found = http.post(
        "/api/v1/tracking/runs/search", json={"experiments": ["e"], "filter": "metrics.auc > 0.5"}
    ).json()
    assert [r["id"] for r in found["items"]] == [rid]
    put = http.put(
        f"/api/v1/tracking/runs/{rid}/artifacts/content",
        params={"path": "a/b.txt"},
        content=b"data",
    )
    assert put.json() == {"path": "a/b.txt"}
    got = http.get(f"/api/v1/tracking/runs/{rid}/artifacts/content", params={"path": "a/b.txt"})
    assert got.content == b"data"
    evil = http.put(
        f"/api/v1/tracking/runs/{rid}/artifacts/content",
        params={"path": "../../x.txt"},
        content=b"no",
    )
    assert evil.status_code == 422
    assert http.get("/api/v1/tracking/runs/" + "0" * 32).status_code == 404


def test_mlflow_edge_maps_errors_and_refuses_traversal(http: TestClient) -> None:
    missing = http.get("/api/2.0/mlflow/runs/get", params={"run_id": "0" * 32})
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    created = http.post("/api/2.0/mlflow/experiments/create", json={"name": "m"})
    dup = http.post("/api/2.0/mlflow/experiments/create", json={"name": "m"})
    # The status every edge gives AlreadyExists; MLflow clients read the code.
    assert dup.status_code == 409 and dup.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    exp_id = created.json()["experiment_id"]
    run = http.post("/api/2.0/mlflow/runs/create", json={"experiment_id": exp_id}).json()
    rid = run["run"]["info"]["run_id"]
    assert run["run"]["info"]["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{rid}/artifacts"
    for path in (
        f"{exp_id}/{rid}/artifacts/%2E%2E/%2E%2E/%2E%2E/escape.txt",
        f"{exp_id}/{rid}/artifacts/..%2F..%2F..%2Fescape.txt",
    ):
        r = http.put(f"/api/2.0/mlflow-artifacts/artifacts/{path}", content=b"x")
        assert r.status_code == 422 and "traversal" in r.json()["message"], r.text
    ok = http.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{rid}/artifacts/f.txt", content=b"x"
    )
    assert ok.status_code == 200
    listing = http.get(
        "/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{rid}/artifacts"}
    ).json()
    assert listing == {"files": [{"path": "f.txt", "is_dir": False, "file_size": 1}]}
    nan = http.post(
        "/api/2.0/mlflow/runs/log-metric",
        json={"run_id": rid, "key": "m", "value": "NaN", "timestamp": 1},
    )
    assert nan.status_code == 200
    got = http.get("/api/2.0/mlflow/runs/get", params={"run_id": rid}).json()
    assert got["run"]["data"]["metrics"][0]["value"] == "NaN"
    unauth = http.get(
        "/api/2.0/mlflow/runs/get", params={"run_id": rid}, headers={"Authorization": "Bearer nope"}
    )
    assert unauth.status_code == 401 and unauth.json()["error_code"] == "UNAUTHENTICATED"
