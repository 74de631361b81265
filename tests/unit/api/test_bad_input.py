"""Finding 9: malformed inputs answer 4xx with the one-line JSON error, never 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pytest
from starlette.testclient import TestClient

from shipyard.api.app import create_app
from tests.conftest import shared_project
from tests.unit.api.conftest import bearer

V2 = "/api/2.0/mlflow"


@dataclass(frozen=True)
class Seeded:
    client: TestClient
    admin_token: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """An experiment, a run, a table: the things the malformed calls point at.

    One project per file: every call here is refused and writes nothing.
    """
    with shared_project(tmp_path_factory, "bad-input") as platform:
        exp = platform.tracking.create_experiment("bad-input")
        run = platform.tracking.create_run(experiment_id=exp.id)
        platform.lake.write("bronze.events", pa.table({"id": [1, 2]}))
        platform.registry.create_registered_model("m")
        token = platform.security.create_token(name="admin").token
        # Unexpected errors must come back as 500 responses, not raise in the test.
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            yield Seeded(client, token, {"run": run.id, "exp": exp.id})


def _deep(depth: int) -> bytes:
    return b'{"run_id": ' + b"[" * depth + b"]" * depth + b"}"


# (method, path, json body or raw bytes, query params)
CASES: dict[str, tuple[str, str, Any, dict[str, Any] | None]] = {
    "mlflow-deep-json": ("POST", f"{V2}/runs/log-batch", _deep(100_000), None),
    "mlflow-deep-json-shallow": ("POST", f"{V2}/runs/log-batch", _deep(900), None),
    "mlflow-metric-value": (
        "POST",
        f"{V2}/runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": "abc"},
        None,
    ),
    "mlflow-metric-step": (
        "POST",
        f"{V2}/runs/log-metric",
        {"run_id": "{run}", "key": "m", "value": 1, "step": "x"},
        None,
    ),
    "mlflow-start-time": (
        "POST",
        f"{V2}/runs/create",
        {"experiment_id": "{exp}", "start_time": "x"},
        None,
    ),
    "mlflow-max-results": ("POST", f"{V2}/runs/search", {"max_results": "x"}, None),
    "mlflow-params-list": (
        "POST",
        f"{V2}/runs/log-batch",
        {"run_id": "{run}", "params": [1]},
        None,
    ),
    "mlflow-tags-empty": ("POST", f"{V2}/runs/log-batch", {"run_id": "{run}", "tags": [{}]}, None),
    "page-size-huge": ("GET", f"{V2}/registered-models/search", None, {"max_results": "1e20"}),
    "page-size-huge-int": ("GET", "/api/v1/registry/models", None, {"limit": str(2**70)}),
    "version-huge": ("GET", "/api/v1/registry/models/m/versions/" + str(2**70), None, None),
    "table-version-huge": (
        "GET",
        "/api/v1/lake/tables/bronze.events/rows",
        None,
        {"version": str(2**70)},
    ),
    "limit-negative": ("GET", "/api/v1/lake/tables/bronze.events/history", None, {"limit": "-1"}),
    "online-features-int": ("POST", "/api/v1/features/online", {"features": 123}, None),
    "artifact-segment-long": (
        "PUT",
        "/api/v1/tracking/runs/{run}/artifacts/content",
        b"x",
        {"path": "a" * 300},
    ),
    "table-name-long": (
        "POST",
        "/api/v1/lake/tables/bronze." + "t" * 300 + "/rows",
        {"records": [{"a": 1}]},
        None,
    ),
    "lake-definition-empty": ("POST", "/api/v1/lake/definitions", {"definition": {}}, None),
    "promotions-status-null": ("GET", "/api/v1/registry/promotions", None, {"status": "null"}),
    "run-status-unknown": ("PATCH", "/api/v1/tracking/runs/{run}", {"status": "READY"}, None),
    "vacuum-negative": (
        "POST",
        "/api/v1/lake/tables/bronze.events/vacuum",
        {"retention_hours": -5, "force": True},
        None,
    ),
}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.replace("{run}", ids["run"]).replace("{exp}", ids["exp"])
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_input_is_a_4xx_with_one_line_json(case: str, seeded: Seeded) -> None:
    method, path, body, params = CASES[case]
    kwargs: dict[str, Any] = {"headers": bearer(seeded.admin_token), "params": params}
    if isinstance(body, bytes):
        kwargs["content"] = body
        kwargs["headers"] = {**kwargs["headers"], "content-type": "application/json"}
    elif body is not None:
        kwargs["json"] = _fill(body, seeded.ids)
    r = seeded.client.request(method, _fill(path, seeded.ids), **kwargs)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert "\n" not in r.text
    payload = r.json()
    assert payload.get("error_code") and payload.get("message")


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/" + "a" * 300, {}),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/" + "a" * 300, {}),
        ("GET", "/api/v1/tracking/runs/{run}/artifacts", {"params": {"path": "a" * 300}}),
        ("GET", "/api/v1/tracking/runs/{run}/artifacts/content", {"params": {"path": "a" * 300}}),
        ("GET", "/api/v1/lake/tables/bronze.events/rows", {"params": {"version": str(2**70)}}),
    ],
)
def test_long_names_and_huge_numbers_are_4xx(
    method: str, path: str, kwargs: dict[str, Any], seeded: Seeded
) -> None:
    r = seeded.client.request(
        method, _fill(path, seeded.ids), headers=bearer(seeded.admin_token), content=b"x", **kwargs
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
