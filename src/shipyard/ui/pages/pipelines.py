"""Pipelines and jobs: the DAG (lineage.js), run history, step logs streamed (server-sent
events, ``ui.live``) while a run is live, run now / pause / resume / cancel for the owner team's editors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from shipyard.ui import live
from shipyard.ui.deps import Signed
from shipyard.ui.render import UIRoute, is_fragment, page, see_other
from shipyard.ui.session import posted

router = APIRouter(route_class=UIRoute)
Token = Annotated[str | None, Query(max_length=4096)]
State = Annotated[str | None, Query(pattern="^(|running|succeeded|failed|cancelled)$")]
RunId = Annotated[str | None, Query(max_length=100)]


@router.get("/pipelines")
def pipelines(request: Request, session: Signed) -> Response:
    view = session.view.pipelines
    found = view.list()
    recent = view.list_runs(limit=20)
    return page(request, "pipelines/list.html", nav="pipelines", found=found, runs=recent)


@router.get("/pipelines/{name}")
def pipeline(
    request: Request, session: Signed, name: str, state: State = None, page_token: Token = None
) -> Response:
    view = session.view.pipelines
    info = view.get(name)
    runs = view.list_runs(name, state=state or None, limit=50, page_token=page_token)
    return page(
        request,
        "pipelines/pipeline.html",
        nav="pipelines",
        p=info,
        runs=runs,
        state=state or "",
        can_write=session.can("write", info.owner),
    )


def _dag(steps: list[dict[str, Any]], states: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The steps as cytoscape elements (a step's state, when a run is given, in its label)."""
    names = [s["name"] for s in steps]
    elements: list[dict[str, Any]] = []
    for s in steps:
        state = states.get(s["name"], {}).get("state")
        label = f"{s['name']} ({state})" if state else s["name"]
        elements.append({"data": {"id": s["name"], "label": label, "root": not s.get("after")}})
    elements += [
        {"data": {"id": f"e{i}-{j}", "source": up, "target": s["name"]}}
        for i, s in enumerate(steps)
        for j, up in enumerate(s.get("after") or [])
        if up in names
    ]
    return {"root": names[0] if names else "", "elements": elements}


@router.get("/pipelines/{name}/dag.json")
def dag(session: Signed, name: str, run: RunId = None) -> Response:
    view = session.view.pipelines
    info = view.get(name)
    states = view.get_run(run).steps if run else {}
    return JSONResponse(_dag(info.spec.get("steps", []), states))


@router.get("/pipelines/runs/{run_id}")
def run(request: Request, session: Signed, run_id: str) -> Response:
    """A run's steps and logs; while it runs, the page follows ``/stream``."""
    view = session.view.pipelines
    found = view.get_run(run_id)
    logs = view.logs(run_id)
    name = "pipelines/run_steps.html" if is_fragment(request) else "pipelines/run.html"
    return page(request, name, nav="pipelines", r=found, logs=logs)


@router.get("/pipelines/runs/{run_id}/stream")
def run_stream(request: Request, session: Signed, run_id: str) -> Response:
    """The run's steps and logs as server-sent events (``update``, then ``done``)."""
    read = live.run_reader(session, run_id)
    read()  # a missing run or a forbidden one is a 404/403 page, not an empty stream
    return live.stream(request, read, "pipelines/run_steps_body.html")


async def _act(request: Request, name: str, action: str) -> Response:
    session, _ = await posted(request)
    view = session.view.pipelines
    if action == "run":
        started = await run_in_threadpool(view.run, name)
        return see_other("pipelines", "runs", started.id)
    await run_in_threadpool(view.pause if action == "pause" else view.resume, name)
    return see_other("pipelines", name)


@router.post("/pipelines/{name}/run")
async def run_now(request: Request, name: str) -> Response:
    return await _act(request, name, "run")


@router.post("/pipelines/{name}/pause")
async def pause(request: Request, name: str) -> Response:
    return await _act(request, name, "pause")


@router.post("/pipelines/{name}/resume")
async def resume(request: Request, name: str) -> Response:
    return await _act(request, name, "resume")


@router.post("/pipelines/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str) -> Response:
    session, _ = await posted(request)
    done = await run_in_threadpool(session.view.pipelines.cancel_run, run_id)
    return see_other("pipelines", "runs", done.id)


@router.get("/jobs")
def jobs(
    request: Request,
    session: Signed,
    state: Annotated[str | None, Query(max_length=20)] = None,
    page_token: Token = None,
) -> Response:
    found = session.view.jobs.list(state=state or None, limit=100, page_token=page_token)
    return page(request, "pipelines/jobs.html", nav="pipelines", found=found, state=state or "")


@router.get("/jobs/{job_id}")
def job(request: Request, session: Signed, job_id: str) -> Response:
    jobs_ = session.view.jobs
    found = jobs_.get(job_id)
    return page(request, "pipelines/job.html", nav="pipelines", j=found, logs=jobs_.logs(job_id))


@router.get("/jobs/{job_id}/stream")
def job_stream(request: Request, session: Signed, job_id: str) -> Response:
    """The job's state and logs as server-sent events (``update``, then ``done``)."""
    read = live.job_reader(session, job_id)
    read()
    return live.stream(request, read, "pipelines/job_body.html")
