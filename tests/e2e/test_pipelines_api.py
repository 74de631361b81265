"""Pipelines and jobs over HTTP, as their team, another team's editor, a role-less token
and a client sending junk would drive them."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform

STEPS = "tests.unit.pipelines.steps"
SPEC: dict[str, Any] = {
    "name": "ml_pipe",
    "owner": "ml",
    "partitioned": "daily",
    "steps": [
        {"name": "a", "function": f"{STEPS}:emit", "args": {"value": 2}},
        {"name": "b", "function": f"{STEPS}:add", "after": ["a"]},
    ],
}


class World:
    def __init__(self, platform: Platform, client: TestClient, tokens: dict[str, str]) -> None:
        self.p, self.http, self.tokens = platform, client, tokens

    def call(self, who: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.http.request(method, f"/api/v1{path}", json=body, headers=headers)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))
    p = Platform.open(tmp_path)
    tokens = {}
    for name, team, role in (
        ("ml_editor", "ml", "editor"),
        ("ml_viewer", "ml", "viewer"),
        ("risk_editor", "risk", "editor"),
        ("nobody", "ml", "viewer"),
        ("ml_admin", "ml", "admin"),
        ("admin", "*", "admin"),
    ):
        p.security.create_principal(name, team=team, role=role)
        tokens[name] = p.security.create_token(principal=name).token
    p.security.revoke_role("nobody", team="ml")
    with TestClient(create_app(p), raise_server_exceptions=False) as client:
        yield World(p, client, tokens)
    p.close()


def test_the_owning_team_plans_applies_runs_and_reads(world: World) -> None:
    r = world.call("ml_editor", "POST", "/pipelines/plan", {"pipelines": [SPEC]})
    assert r.status_code == 200 and r.json()[0]["action"] == "create"
    assert (
        world.call("ml_editor", "POST", "/pipelines/apply", {"pipelines": [SPEC]}).json()[0][
            "action"
        ]
        == "create"
    )
    r = world.call("ml_editor", "POST", "/pipelines/ml_pipe/runs", {"partition": "2026-01-02"})
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["steps"]["a"]["state"] == "queued" and run["partition"] == "2026-01-02"
    Worker(world.p, poll_interval=0.005).run(idle_exit=0.3)
    got = world.call("ml_viewer", "GET", f"/pipelines/-/runs/{run['id']}").json()
    assert got["state"] == "succeeded"
    job_id = got["steps"]["b"]["job"]
    job = world.call("ml_viewer", "GET", f"/jobs/{job_id}").json()
    assert job["result"] == {"value": 3} and job["run_id"] == run["id"] and job["step"] == "b"
    assert world.call("ml_viewer", "GET", f"/jobs/{job_id}/logs").json() == {"logs": ""}
    logs = world.call("ml_viewer", "GET", f"/pipelines/-/runs/{run['id']}/logs").json()
    assert set(logs) == {"a", "b"}
    runs = world.call("ml_viewer", "GET", "/pipelines/ml_pipe/runs").json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]
    assert [p["name"] for p in world.call("ml_viewer", "GET", "/pipelines").json()] == ["ml_pipe"]
    r = world.call(
        "ml_editor",
        "POST",
        "/pipelines/ml_pipe/backfills",
        {"start": "2026-01-01", "end": "2026-01-03"},
    )
    assert r.status_code == 202 and r.json()["partitions"] == 3
    progress = world.call("ml_viewer", "GET", f"/pipelines/-/backfills/{r.json()['backfill_id']}")
    assert progress.json() == {"running": 3}
    assert world.call("ml_editor", "POST", "/pipelines/ml_pipe/pause").json()["paused"] is True
    assert world.call("ml_editor", "POST", "/pipelines/ml_pipe/resume").json()["paused"] is False
    queued = world.call("ml_viewer", "GET", "/jobs?state=queued").json()["items"]
    assert len(queued) == 3
    r = world.call("ml_editor", "POST", f"/jobs/{queued[0]['id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = world.call("ml_editor", "POST", f"/pipelines/-/runs/{queued[1]['run_id']}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"


def _seeded(world: World) -> tuple[str, str]:
    world.p.pipelines.apply([SPEC])
    run = world.p.pipelines.run("ml_pipe")
    return run.id, run.steps["a"]["job"]


@pytest.mark.parametrize("who", ["risk_editor", "nobody"])
def test_another_teams_editor_and_a_roleless_token_are_refused(world: World, who: str) -> None:
    run_id, job_id = _seeded(world)
    renamed = {**SPEC, "owner": "risk", "description": "taken over"}
    writes = [
        ("POST", "/pipelines/apply", {"pipelines": [renamed]}),
        ("POST", "/pipelines/ml_pipe/runs", {}),
        ("POST", "/pipelines/ml_pipe/backfills", {"start": "2026-01-01", "end": "2026-01-02"}),
        ("POST", "/pipelines/ml_pipe/pause", None),
        ("POST", "/pipelines/ml_pipe/resume", None),
        ("POST", f"/pipelines/-/runs/{run_id}/cancel", None),
        ("POST", f"/jobs/{job_id}/cancel", None),
    ]
    for method, path, body in writes:
        r = world.call(who, method, path, body)
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
    reads = [
        "/pipelines/ml_pipe",
        "/pipelines/ml_pipe/runs",
        f"/pipelines/-/runs/{run_id}",
        f"/pipelines/-/runs/{run_id}/logs",
        f"/jobs/{job_id}",
        f"/jobs/{job_id}/logs",
    ]
    for path in reads:
        r = world.call(who, "GET", path)
        assert r.status_code in (403, 404), (path, r.status_code, r.text)
    assert world.call(who, "GET", "/pipelines").json() == []
    assert world.call(who, "GET", "/jobs").json()["items"] == []
    # nothing changed: still one run, still queued, owner still ml, not paused
    info = world.p.pipelines.get("ml_pipe")
    assert (info.owner, info.version, info.paused) == ("ml", 1, False)
    assert len(world.p.pipelines.list_runs("ml_pipe").items) == 1
    assert world.p.jobs.get(job_id).state.value == "queued"
    assert world.p.pipelines.get_run(run_id).state.value == "running"


def test_a_viewer_reads_but_cannot_write(world: World) -> None:
    run_id, _ = _seeded(world)
    assert world.call("ml_viewer", "GET", "/pipelines/ml_pipe").status_code == 200
    assert world.call("ml_viewer", "POST", "/pipelines/ml_pipe/runs", {}).status_code == 403
    assert world.call("ml_viewer", "POST", f"/pipelines/-/runs/{run_id}/cancel").status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/pipelines/plan", {"pipelines": "nope"}),
        ("POST", "/pipelines/plan", {"pipelines": [{"name": "x"}]}),
        ("POST", "/pipelines/plan", {"pipelines": [{"name": "x", "steps": [{"name": 3}]}]}),
        ("POST", "/pipelines/apply", {"pipelines": [{**SPEC, "steps": "x"}]}),
        ("POST", "/pipelines/apply", {"pipelines": [{**SPEC, "schedule": {"cron": "99 * * * *"}}]}),
        # topic triggers and their filters (ADR 0057)
        ("POST", "/pipelines/plan", {"pipelines": [{**SPEC, "triggers": {"topics": [5, {}]}}]}),
        (
            "POST",
            "/pipelines/plan",
            {"pipelines": [{**SPEC, "triggers": {"topics": [{"topic": "t", "where": {"a": {}}}]}}]},
        ),
        (
            "POST",
            "/pipelines/apply",
            {"pipelines": [{**SPEC, "triggers": {"topics": [{"topic": ["t"], "where": []}]}}]},
        ),
        ("POST", "/pipelines/ml_pipe/runs", {"partition": "not-a-day"}),
        ("POST", "/pipelines/ml_pipe/runs", {"partition": "x" * 1000}),
        ("POST", "/pipelines/ml_pipe/backfills", {"start": "yesterday", "end": "2026-01-01"}),
        ("POST", "/pipelines/ml_pipe/backfills", {"start": "2026-01-02", "end": "2026-01-01"}),
        ("POST", "/pipelines/ml_pipe/backfills", {"start": "1000-01-01", "end": "9999-12-31"}),
        ("GET", "/pipelines/ml_pipe/runs?state=bogus", None),
        ("GET", "/pipelines/ml_pipe/runs?limit=0", None),
        ("GET", "/pipelines/ml_pipe/runs?page_token=%%%", None),
        ("GET", "/jobs?state=bogus", None),
        ("GET", "/jobs?limit=99999999999999999999", None),
        ("GET", "/pipelines/nope", None),
        ("GET", "/pipelines/-/runs/nope", None),
        ("GET", "/pipelines/-/backfills/nope", None),
        ("POST", "/pipelines/-/runs/nope/cancel", None),
        ("POST", "/jobs/nope/cancel", None),
    ],
)
def test_malformed_input_is_a_4xx_never_a_500(
    world: World, method: str, path: str, body: Any
) -> None:
    world.p.pipelines.apply([SPEC])
    r = world.call("ml_editor", method, path, body)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert "Traceback" not in r.text


def _old_job(world: World) -> str:
    from datetime import timedelta

    from shipyard._internal.clock import utcnow
    from shipyard.pipelines.tables import jobs

    job = world.p.jobs.submit(f"{STEPS}:emit", team="ml", executor="inprocess")
    with world.p.context.db.begin() as conn:
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job.id)
            .values(state="succeeded", finished_at=utcnow() - timedelta(days=40))
        )
    return job.id


def test_only_an_admin_of_every_team_prunes_jobs_dry_or_for_real(world: World) -> None:
    job_id = _old_job(world)
    for who in ("ml_editor", "risk_editor", "nobody", "ml_admin"):
        r = world.call(who, "POST", "/jobs/prune", {"dry_run": False})
        assert r.status_code == 403, (who, r.text)
        assert world.p.jobs.get(job_id).id == job_id
    dry = world.call("admin", "POST", "/jobs/prune", {"dry_run": True})
    assert dry.status_code == 200 and dry.json()["jobs"] == 1 and dry.json()["dry_run"]
    assert world.p.jobs.get(job_id).id == job_id
    done = world.http.post(  # no body: the configured retention
        "/api/v1/jobs/prune", headers={"Authorization": f"Bearer {world.tokens['admin']}"}
    )
    assert done.status_code == 200 and done.json()["jobs"] == 1
    assert world.call("admin", "GET", f"/jobs/{job_id}").status_code == 404


def test_malformed_prune_input_is_a_4xx_never_a_500(world: World) -> None:
    for body in [
        {"older_than_days": 0},
        {"older_than_days": -3},
        {"older_than_days": 1e300},
        {"older_than_days": "forty"},
        {"older_than_days": [1]},
        {"dry_run": "maybe"},
        {"dry_run": None},
        {"bogus": 1},
        [1, 2],
        "prune",
    ]:
        for who in ("admin", "ml_editor"):
            r = world.call(who, "POST", "/jobs/prune", body)
            assert 400 <= r.status_code < 500, (who, body, r.status_code, r.text)
            assert "Traceback" not in r.text
    raw = world.http.post(
        "/api/v1/jobs/prune",
        content=b"{not json",
        headers={
            "Authorization": f"Bearer {world.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )
    assert raw.status_code == 422
