"""MLflow's registered-model search asks the registry once per page, not twice per model."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import pytest

from shipyard.api.app import create_app
from shipyard.platform import Platform
from shipyard.registry.service import RegistryService

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


def test_search_registered_models_costs_two_calls_per_page(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = platform.tracking.create_run(experiment_id=platform.tracking.create_experiment("e").id)
    platform.tracking.put_artifact(run.id, "f.txt", b"x")
    for i in range(6):
        platform.registry.create_registered_model(f"m{i}")
        for _ in range(i % 3):
            platform.registry.register_model(f"m{i}", source=f"runs:/{run.id}/f.txt")
    calls: Counter[str] = Counter()
    for name in (
        "get_registered_model",
        "get_model_version",
        "list_registered_models",
        "latest_versions",
    ):
        original = getattr(RegistryService, name)

        def counted(self: Any, *a: Any, _name: str = name, _f: Any = original, **k: Any) -> Any:
            calls[_name] += 1
            return _f(self, *a, **k)

        monkeypatch.setattr(RegistryService, name, counted)
    token = platform.security.create_token(name="t").token
    with TestClient(create_app(platform)) as http:
        r = http.get(
            "/api/2.0/mlflow/registered-models/search",
            params={"filter": "name LIKE 'm%'", "max_results": 4},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["name"] for m in body["registered_models"]] == ["m0", "m1", "m2", "m3"]
    assert [len(m["latest_versions"]) for m in body["registered_models"]] == [0, 1, 1, 0]
    assert body["registered_models"][2]["latest_versions"][0]["version"] == "2"
    assert body["next_page_token"]
    assert calls == Counter({"list_registered_models": 1, "latest_versions": 1})


def test_latest_versions_leaves_out_what_the_caller_cannot_read(platform: Platform) -> None:
    run = platform.tracking.create_run(experiment_id=platform.tracking.create_experiment("e").id)
    platform.tracking.put_artifact(run.id, "f.txt", b"x")
    platform.registry.create_registered_model("mine")
    platform.registry.create_registered_model("theirs", owner="risk")
    for name in ("mine", "theirs"):
        platform.registry.register_model(name, source=f"runs:/{run.id}/f.txt")
    platform.security.create_principal("vera", role="viewer")
    vera = platform.as_principal(platform.security.get_principal("vera"))
    assert set(vera.registry.latest_versions(["mine", "theirs", "ghost"])) == {"mine"}
    assert set(platform.registry.latest_versions(["mine", "theirs"])) == {"mine", "theirs"}


def test_prompts_are_refused_so_the_clients_prompt_clause_holds(platform: Platform) -> None:
    """The stock client adds ``tag.`mlflow.prompt.is_prompt` != 'true'`` to every model
    search; the server drops the clause, so it must not hold any prompt."""
    token = platform.security.create_token(name="t").token
    headers = {"Authorization": f"Bearer {token}"}
    prompt_tag = {"key": "mlflow.prompt.is_prompt", "value": "true"}
    with TestClient(create_app(platform)) as http:
        base = "/api/2.0/mlflow/registered-models"
        r = http.post(f"{base}/create", json={"name": "p", "tags": [prompt_tag]}, headers=headers)
        assert r.status_code == 422 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert http.post(f"{base}/create", json={"name": "m"}, headers=headers).status_code == 200
        r = http.post(f"{base}/set-tag", json={"name": "m", **prompt_tag}, headers=headers)
        assert r.status_code == 422
        r = http.get(
            f"{base}/search",
            params={"filter": "tag.`mlflow.prompt.is_prompt` != 'true'"},
            headers=headers,
        )
        assert [m["name"] for m in r.json()["registered_models"]] == ["m"]
