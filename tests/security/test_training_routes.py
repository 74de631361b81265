"""The training routes against hostile callers: another team, no role, no token, bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import World

V1 = "/api/v1/training"
SPACE = {"x": {"type": "int", "low": 0, "high": 1}}


def _job(world: World) -> str:
    return world.platform.training.list(team="ml").items[0].id


@pytest.mark.parametrize("who", ["risk_editor", "risk_viewer", "nobody"])
def test_another_team_or_no_role_cannot_read_or_cancel_ml_jobs(world: World, who: str) -> None:
    job = _job(world)
    with world.client(who) as c:
        for method, path in (
            ("GET", f"{V1}/jobs/{job}"),
            ("GET", f"{V1}/jobs/{job}/logs"),
            ("POST", f"{V1}/jobs/{job}/cancel"),
        ):
            r = c.request(method, path)
            assert r.status_code in (403, 404), (path, r.text)
            assert "echo" not in r.text
        listed = c.get(f"{V1}/jobs")
        assert listed.status_code in (200, 403)
        if listed.status_code == 200:
            assert listed.json()["items"] == []
        assert c.get(f"{V1}/jobs", params={"team": "ml"}).status_code == 403
    assert world.platform.training.get(job).state == "queued"


@pytest.mark.parametrize("who", ["risk_editor", "nobody"])
def test_another_team_cannot_train_or_search_into_ml(world: World, who: str) -> None:
    with world.client(who) as c:
        r = c.post(f"{V1}/jobs", json={"function": "shipyard.pipelines.builtin:echo", "team": "ml"})
        assert r.status_code == 403
        r = c.post(
            f"{V1}/studies",
            json={
                "function": "shipyard.pipelines.builtin:echo",
                "space": SPACE,
                "experiment": "ml_exp",
            },
        )
        assert r.status_code == 403


def test_a_study_is_not_readable_by_another_team(world: World) -> None:
    # made by risk (the walk checks that ml's assets are untouched), read by ml
    world.platform.tracking.create_experiment("risk_tuning", owner="risk")
    body = {
        "function": "shipyard.pipelines.builtin:echo",
        "space": SPACE,
        "experiment": "risk_tuning",
        "n_trials": 1,
        "study_name": "risk_study",
        "metric": "x",
    }
    with world.client("risk_editor") as c:
        r = c.post(f"{V1}/studies", json=body)
        assert r.status_code == 201, r.text
        study = r.json()
        assert study["trials"] == 1 and study["failed"] == 1  # echo returns no metric
        assert c.get(f"{V1}/studies/risk_study").status_code == 200
    with world.client("ml_editor") as c:
        assert c.get(f"{V1}/studies/risk_study").status_code in (403, 404)
        assert c.get(f"{V1}/studies/nope").status_code == 404


def test_no_token_is_401(world: World) -> None:
    with httpx.Client(base_url=world.url) as c:
        assert c.get(f"{V1}/jobs").status_code == 401
        assert c.post(f"{V1}/jobs", json={"function": "a:b"}).status_code == 401
        assert c.get(f"{V1}/studies/x").status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("jobs", {}),
        ("jobs", {"function": "not a target"}),
        ("jobs", {"function": "os:system"}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "resources": {"gpus": -1}}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "resources": {"gpus": 4}}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "backend": "slurm"}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "training_set": "../x"}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "training_set": "nope"}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "params": [1]}),
        ("studies", {"function": "shipyard.pipelines.builtin:echo", "space": {}}),
        ("studies", {"function": "shipyard.pipelines.builtin:echo", "space": "x: [1"}),
        ("studies", {"function": "shipyard.pipelines.builtin:echo", "space": "/etc/passwd.yaml"}),
        (
            "studies",
            {"function": "shipyard.pipelines.builtin:echo", "space": SPACE, "n_trials": 10**9},
        ),
        (
            "studies",
            {
                "function": "shipyard.pipelines.builtin:echo",
                "space": SPACE,
                "direction": "sideways",
            },
        ),
        ("studies", {"function": "shipyard.pipelines.builtin:echo", "space": {"x": 3}}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "feature_service": "nope"}),
        ("jobs", {"function": "shipyard.pipelines.builtin:echo", "entity_df": "ml.labels"}),
        (
            "jobs",
            {
                "function": "shipyard.pipelines.builtin:echo",
                "feature_service": "nope",
                "entity_df": "ml.labels",
            },
        ),
        (
            "jobs",
            {
                "function": "shipyard.pipelines.builtin:echo",
                "feature_service": "nope",
                "entity_df": "select * from read_csv('/etc/passwd')",
            },
        ),
        (
            "studies",
            {
                "function": "shipyard.pipelines.builtin:echo",
                "space": SPACE,
                "feature_service": "x" * 300,
                "entity_df": "ml.labels",
            },
        ),
    ],
)
def test_malformed_input_is_4xx_never_500(world: World, path: str, body: dict) -> None:  # type: ignore[type-arg]
    with world.client("ml_editor") as c:
        r = c.post(f"{V1}/{path}", json=body)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert "root:" not in r.text
