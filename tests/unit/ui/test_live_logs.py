"""Pipeline-run and job logs stream to the page as server-sent events while a run is live."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipyard.api.app import create_app
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.ui import live

STEP = {"name": "say", "function": "shipyard.pipelines.builtin:echo", "args": {"w": "hello-live"}}


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    project = tmp_path_factory.mktemp("ui-live")
    (project / "shipyard.yaml").write_text("")
    p = Platform.open(Path(project))
    p.pipelines.apply([{"name": "talk", "owner": "ml", "steps": [STEP]}])
    p.security.create_principal("mia", team="ml", role="editor")
    p.security.create_principal("rob", team="risk", role="editor")
    p.security.create_principal("nob")  # no role anywhere
    yield p
    p.close()


@pytest.fixture(scope="module")
def app(plat: Platform) -> Any:
    return create_app(plat)


def sign_in(p: Platform, who: str, app: Any) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    client.get("/ui/login")
    token = p.security.create_token(principal=who).token
    client.post("/ui/login", data={"token": token, "csrf": client.cookies["shipyard_login_csrf"]})
    return client


def events(body: str) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of an SSE body (multi-line data joined with newlines)."""
    out = []
    for block in body.split("\n\n"):
        lines = block.split("\n")
        name = next((x[7:] for x in lines if x.startswith("event: ")), None)
        if name:
            out.append((name, "\n".join(x[6:] for x in lines if x.startswith("data: "))))
    return out


def test_a_running_pipeline_streams_its_steps_and_logs_until_done(
    plat: Platform, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "POLL_SECONDS", 0.05)
    run = plat.pipelines.run("talk")
    with sign_in(plat, "mia", app) as ui:
        page = ui.get(f"/ui/pipelines/runs/{run.id}").text
        assert f'sse-connect="/ui/pipelines/runs/{run.id}/stream"' in page
        assert 'sse-close="done"' in page and "hx-trigger" not in page  # no more polling
        worker = threading.Timer(
            0.2, Worker(plat, poll_interval=0.01).run, kwargs={"idle_exit": 0.2}
        )
        worker.start()
        r = ui.get(f"/ui/pipelines/runs/{run.id}/stream")
        worker.join()
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        got = events(r.text)
        assert got[0][0] == "update" and "state-running" in got[0][1]
        assert got[-1] == ("done", "")
        last = got[-2][1]
        assert "state-succeeded" in last and "hello-live" in last and "Cancel run" not in last
        finished = ui.get(f"/ui/pipelines/runs/{run.id}").text
        assert "sse-connect" not in finished  # a finished run's page does not connect
        job = plat.pipelines.get_run(run.id).steps["say"]["job"]
        done = events(ui.get(f"/ui/jobs/{job}/stream").text)
        assert [e for e, _ in done] == ["update", "done"] and "hello-live" in done[0][1]


@pytest.mark.parametrize("who", ["rob", "nob"])
def test_streams_refuse_other_teams_and_unknown_ids(plat: Platform, app: Any, who: str) -> None:
    run = plat.pipelines.list_runs("talk").items[0]
    job = plat.pipelines.get_run(run.id).steps["say"]["job"]
    with sign_in(plat, who, app) as ui:
        for path in (f"/ui/pipelines/runs/{run.id}/stream", f"/ui/jobs/{job}/stream"):
            r = ui.get(path)
            assert r.status_code in (403, 404), (path, r.status_code)
            assert "hello-live" not in r.text and "event:" not in r.text
    with sign_in(plat, "mia", app) as ui:
        for path in ("/ui/pipelines/runs/nope/stream", "/ui/jobs/nope/stream"):
            assert ui.get(path).status_code == 404
        assert ui.get("/ui/jobs/" + "x" * 5000 + "/stream").status_code in (404, 414, 422)


def test_unsigned_streams_redirect_to_sign_in(plat: Platform, app: Any) -> None:
    run = plat.pipelines.list_runs("talk").items[0]
    with TestClient(app, base_url="http://testserver") as anon:
        r = anon.get(f"/ui/pipelines/runs/{run.id}/stream", follow_redirects=False)
        assert r.status_code in (302, 303, 307) and "/ui/login" in r.headers["location"]
