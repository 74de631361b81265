"""One error table: every Shipyard error answers the same status on every HTTP edge.

Each error class of ``shipyard.errors`` is raised from a service method behind
three edges — the HTTP API, the dedicated inference server and the MLflow REST
API — and must come back with its class's status everywhere, in each protocol's
body shape.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import shipyard.errors as errors_module
from shipyard.api.app import create_app
from shipyard.api.errors import MLFLOW_CODES, mlflow_code
from shipyard.catalog.service import CatalogService
from shipyard.errors import ShipyardError
from shipyard.platform import Platform
from shipyard.serving.server import create_serving_app
from shipyard.serving.service import ServingService
from shipyard.tracking.service import TrackingService

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ERROR_CLASSES = sorted(
    (
        obj
        for obj in vars(errors_module).values()
        if isinstance(obj, type) and issubclass(obj, ShipyardError)
    ),
    key=lambda cls: cls.__name__,
)

#: MLflow codes the stock client knows (``mlflow.protos.databricks_pb2.ErrorCode``).
MLFLOW_KNOWN = {
    "INTERNAL_ERROR",
    "RESOURCE_DOES_NOT_EXIST",
    "RESOURCE_ALREADY_EXISTS",
    "INVALID_PARAMETER_VALUE",
    "RESOURCE_CONFLICT",
    "UNAUTHENTICATED",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "TEMPORARILY_UNAVAILABLE",
}


@pytest.fixture
def edges(platform: Platform) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    headers = {"Authorization": f"Bearer {platform.security.create_token(name='t').token}"}
    with (
        TestClient(create_app(platform), raise_server_exceptions=False) as api,
        TestClient(create_serving_app(platform), raise_server_exceptions=False) as serving,
    ):
        yield api, serving, headers


def test_the_table_covers_every_error_class() -> None:
    assert len(ERROR_CLASSES) >= 10  # the walk found the hierarchy
    for cls in ERROR_CLASSES:
        assert mlflow_code(cls("x")) in MLFLOW_KNOWN, cls
    assert set(MLFLOW_CODES.values()) <= MLFLOW_KNOWN


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_edge_answers_the_class_status(
    cls: type[ShipyardError],
    edges: tuple[TestClient, TestClient, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, serving, headers = edges
    exc = cls("it went wrong", thing="x")

    def raise_it(*_a: object, **_k: object) -> None:
        raise exc

    monkeypatch.setattr(CatalogService, "search", raise_it)
    monkeypatch.setattr(ServingService, "get_deployment", raise_it)
    monkeypatch.setattr(TrackingService, "get_experiment", raise_it)

    native = api.get("/api/v1/catalog/assets", headers=headers)
    inference = serving.get("/v2/models/m", headers=headers)
    full_v2 = api.get("/v2/models/m", headers=headers)
    mlflow = api.get("/api/2.0/mlflow/experiments/get?experiment_id=1", headers=headers)

    statuses = {
        "api": native.status_code,
        "inference server": inference.status_code,
        "api v2": full_v2.status_code,
        "mlflow": mlflow.status_code,
    }
    assert set(statuses.values()) == {cls.http_status}, statuses
    body = {"error_code": cls.code, "message": "it went wrong", "details": {"thing": "x"}}
    assert native.json() == inference.json() == full_v2.json() == body
    assert mlflow.json() == {"error_code": mlflow_code(exc), "message": "it went wrong"}
    for r in (native, inference, full_v2, mlflow):
        assert (r.headers.get("www-authenticate") == "Bearer") == (cls.http_status == 401)


def test_unexpected_errors_and_framework_errors_match_across_edges(
    edges: tuple[TestClient, TestClient, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, serving, headers = edges

    def crash(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret=hunter2")

    monkeypatch.setattr(ServingService, "get_deployment", crash)
    monkeypatch.setattr(TrackingService, "get_experiment", crash)
    for client, path in (
        (api, "/v2/models/m"),
        (serving, "/v2/models/m"),
        (api, "/api/2.0/mlflow/experiments/get?experiment_id=1"),
    ):
        r = client.get(path, headers={**headers, "X-Request-ID": "rid-1"})
        assert r.status_code == 500, (path, r.text)
        assert r.json()["error_code"] == "INTERNAL_ERROR" and "rid-1" in r.json()["message"]
        assert "hunter2" not in r.text and r.headers["x-request-id"] == "rid-1"
    for client in (api, serving):  # unknown path, wrong method: JSON, not text
        missing = client.get("/v2/no/such/thing", headers=headers)
        assert missing.status_code == 404 and missing.json()["error_code"] == "NOT_FOUND"
        wrong = client.delete("/v2/models/m/infer", headers=headers)
        assert wrong.status_code == 405 and wrong.json()["error_code"] == "METHOD_NOT_ALLOWED"
