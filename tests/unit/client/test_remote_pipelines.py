"""Pipelines and jobs over ``shipyard.connect``: the generated clients reach every route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.client import RemotePlatform
from shipyard.errors import NotFound, PermissionDenied, Unauthenticated
from shipyard.pipelines.runs import RunState
from shipyard.platform import Platform
from shipyard.security.models import Role
from tests.servers import live_server
from tests.unit.pipelines.conftest import STEPS, drain


@pytest.fixture
def pp(tmp_path: Path) -> Iterator[Platform]:
    (tmp_path / "shipyard.yaml").write_text(json.dumps({"jobs": {"modules": [STEPS]}}))
    p = Platform.open(tmp_path)
    yield p
    p.close()


@pytest.fixture
def server_url(pp: Platform) -> Iterator[str]:
    with live_server(pp) as url:
        yield url


@pytest.fixture
def admin(pp: Platform, server_url: str) -> Iterator[RemotePlatform]:
    with shipyard.connect(server_url, pp.security.create_token().token) as remote:
        yield remote


def _step(
    name: str, fn: str = "emit", after: list[str] | None = None, **args: Any
) -> dict[str, Any]:
    return {"name": name, "function": f"{STEPS}:{fn}", "after": after or [], "args": args}


def _apply(pp: Platform, name: str = "p") -> None:
    steps = [_step("a", value=2), _step("b", "add", ["a"], plus=3)]
    pp.pipelines.apply([{"name": name, "steps": steps}])


def test_runs_are_started_read_and_paged_remotely(pp: Platform, admin: RemotePlatform) -> None:
    _apply(pp)
    _apply(pp, "q")
    assert [i.name for i in admin.pipelines.list()] == ["p", "q"]
    assert admin.pipelines.get("p").name == "p"
    first = admin.pipelines.run("p")
    assert first.steps["a"]["state"] == "queued"
    drain(pp)
    done = admin.pipelines.get_run(first.id)
    assert done.state == RunState.SUCCEEDED
    assert set(admin.pipelines.logs(first.id)) == {"a", "b"}
    second = admin.pipelines.run("p")
    other = admin.pipelines.run("q")
    page = admin.pipelines.list_runs("p", limit=1)
    assert [r.id for r in page.items] == [second.id] and page.next_page_token
    rest = admin.pipelines.list_runs("p", limit=1, page_token=page.next_page_token)
    assert [r.id for r in rest.items] == [first.id]
    assert {r.id for r in admin.pipelines.list_runs().items} == {first.id, second.id, other.id}
    assert [r.id for r in admin.pipelines.list_runs(state="succeeded").items] == [first.id]
    cancelled = admin.pipelines.cancel_run(second.id)
    assert cancelled.state == RunState.CANCELLED
    assert pp.pipelines.get_run(second.id).state == RunState.CANCELLED


def test_pause_resume_and_jobs(pp: Platform, admin: RemotePlatform) -> None:
    _apply(pp)
    assert admin.pipelines.pause("p").paused
    assert pp.pipelines.get("p").paused
    assert not admin.pipelines.resume("p").paused
    run = admin.pipelines.run("p")
    job_id = run.steps["a"]["job"]
    queued = admin.jobs.list(state="queued")
    assert [j.id for j in queued.items] == [job_id]
    assert admin.jobs.get(job_id).step == "a"
    assert admin.jobs.cancel(job_id).state == "cancelled"
    assert isinstance(admin.jobs.logs(job_id), str)
    with pytest.raises(NotFound):
        admin.jobs.get("nope")
    with pytest.raises(NotFound):
        admin.pipelines.get("nope")


def test_a_role_less_token_is_refused(pp: Platform, server_url: str) -> None:
    _apply(pp)
    run = pp.pipelines.run("p")
    team = pp.pipelines.get("p").owner
    pp.security.create_principal("nora", team=team, role=Role.VIEWER)
    pp.security.revoke_role("nora", team=team)
    token = pp.security.create_token(principal="nora").token
    with shipyard.connect(server_url, token) as nobody:
        assert nobody.pipelines.list() == []
        assert nobody.jobs.list().items == []
        assert nobody.pipelines.list_runs().items == []
        for call in (
            lambda: nobody.pipelines.get("p"),
            lambda: nobody.pipelines.run("p"),
            lambda: nobody.pipelines.pause("p"),
            lambda: nobody.pipelines.get_run(run.id),
            lambda: nobody.pipelines.cancel_run(run.id),
            lambda: nobody.jobs.cancel(run.steps["a"]["job"]),
        ):
            with pytest.raises(PermissionDenied):
                call()
    assert pp.pipelines.get_run(run.id).state == RunState.RUNNING
    with shipyard.connect(server_url, "not-a-token") as stranger, pytest.raises(Unauthenticated):
        stranger.pipelines.list()
