"""Hypothesis over the MLflow REST routes (not in the OpenAPI document): no 5xx, no hang.

Bodies are JSON objects over the keys MLflow's messages use, with values of any
JSON type (and, half the time, the id of a real run or experiment), so that the
handlers' parsing meets every wrong type a client can send.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.api.mlflow import registry as mlflow_registry
from shipyard.api.mlflow import tracking as mlflow_tracking
from shipyard.platform import Platform

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore")]

EXAMPLES = int(os.environ.get("SHIPYARD_FUZZ_EXAMPLES", "20"))
MAX_SECONDS = 10.0

KEYS = [
    "run_id", "run_uuid", "experiment_id", "experiment_ids", "experiment_name", "name",
    "new_name", "key", "value", "step", "timestamp", "start_time", "end_time", "status",
    "max_results", "page_token", "filter", "order_by", "view_type", "run_view_type",
    "params", "tags", "metrics", "datasets", "models", "metric_key", "version", "source",
    "description", "alias", "stages", "model_id", "model_json", "path",
]  # fmt: skip

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def mlflow_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    project: Path = tmp_path_factory.mktemp("mlflow-fuzz")
    with Platform.open(project) as platform:
        token = platform.security.create_token(name="fuzz").token
        exp = platform.tracking.create_experiment("fuzz")
        run = platform.tracking.create_run(experiment_id=exp.id)
        app = create_app(platform)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield {"client": client, "token": token, "run": run.id, "exp": exp.id, "app": app}


def _mlflow_routes() -> list[tuple[str, str]]:
    """Every MLflow operation: the tracking routers' and the registry's."""
    out = []
    for route in [*mlflow_tracking.router.routes, *mlflow_registry.router.routes]:
        methods = getattr(route, "methods", None) or set()
        path = getattr(route, "path", "")
        path = path.replace("{model_id}", "m-1").replace("{path:path}", "a/b.txt")
        out += [(m, path) for m in sorted(methods) if m != "HEAD"]
    return out


def _fuzz_route(
    client: TestClient, method: str, path: str, bodies: Any, stats: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {stats['token']}"}

    @given(body=bodies)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(body: dict[str, Any]) -> None:
        stats["requests"] += 1
        started = time.perf_counter()
        if method == "GET":
            params = {k: str(v) for k, v in body.items()}
            r = client.request(method, path, params=params, headers=headers)
        else:
            r = client.request(method, path, json=body, headers=headers)
        took = time.perf_counter() - started
        if r.status_code >= 500 or took > MAX_SECONDS:
            stats["failures"].append(
                f"{method} {path} {body!r:.200} -> {r.status_code} {took:.1f}s {r.text[:100]}"
            )

    run()


def test_mlflow_routes_never_answer_5xx(mlflow_target: dict[str, Any]) -> None:
    routes = _mlflow_routes()
    assert len(routes) > 40
    ids = st.sampled_from([mlflow_target["run"], mlflow_target["exp"]])
    bodies = st.dictionaries(st.sampled_from(KEYS), JSON | ids, max_size=6)
    stats: dict[str, Any] = {"requests": 0, "failures": [], "token": mlflow_target["token"]}
    for method, path in routes:
        if method == "PUT" and "mlflow-artifacts" in path:
            continue  # an upload of arbitrary bytes: covered by the artifact tests
        _fuzz_route(mlflow_target["client"], method, path, bodies, stats)
    print(f"\nmlflow fuzz: {stats['requests']} requests")
    assert stats["requests"] >= len(routes) * 3
    assert not stats["failures"], "\n".join(stats["failures"][:40])
