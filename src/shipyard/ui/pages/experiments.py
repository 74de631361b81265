"""Experiments and runs: run tables (search, sort, column picker), a run's params,
metrics and artifacts, and the compare view with downsampled metric charts."""

from __future__ import annotations

import mimetypes
from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from shipyard.errors import InvalidArgument
from shipyard.ui.deps import Signed
from shipyard.ui.downsample import aligned
from shipyard.ui.render import SECURITY_HEADERS, UIRoute, is_fragment, page

router = APIRouter(route_class=UIRoute)
Text = Annotated[str | None, Query(max_length=2000)]
Token = Annotated[str | None, Query(max_length=4096)]
RunIds = Annotated[list[str], Query(max_length=200)]
#: Columns shown when the user picked none: this many metrics and params.
DEFAULT_COLUMNS = 4
MAX_COMPARE = 200
#: Step ranges a chart is cut into (two points each: ~1,000 points a run).
BUCKETS = 500


@router.get("/experiments")
def experiments(
    request: Request, session: Signed, q: Text = None, page_token: Token = None
) -> Response:
    found = session.view.tracking.list_experiments(
        name_like=f"%{q.strip()}%" if q and q.strip() else None, limit=100, page_token=page_token
    )
    return page(request, "experiments/list.html", nav="experiments", found=found, q=q or "")


def _columns(runs: list, picked: list[str]) -> tuple[list[str], list[str]]:
    """(every ``metrics.k`` / ``params.k`` column on the page, the ones shown)."""
    metrics = sorted({k for r in runs for k in r.metrics})
    params = sorted({k for r in runs for k in r.params})
    every = [f"metrics.{k}" for k in metrics] + [f"params.{k}" for k in params]
    if picked:
        return every, [c for c in picked if c in every]
    shown = [f"metrics.{k}" for k in metrics[:DEFAULT_COLUMNS]]
    return every, shown + [f"params.{k}" for k in params[:DEFAULT_COLUMNS]]


def _cells(runs: list, shown: list[str]) -> list[list[tuple[bool, str]]]:
    """Each run's shown columns as (numeric, text), built here rather than in the
    template: 100 runs x 8 columns of Jinja lookups and filters were a third of the
    page's time."""
    picked = [c.split(".", 1) for c in shown]
    rows = []
    for r in runs:
        row = []
        for kind, key in picked:
            if kind == "metrics":
                v = r.metrics.get(key)
                row.append((True, str(round(v, 5)) if isinstance(v, int | float) else ""))
            else:
                row.append((False, _truncate(r.params.get(key, ""))))
        rows.append(row)
    return rows


def _truncate(text: str, length: int = 40) -> str:
    """Jinja's ``truncate(40)``: cut at a word past ``length`` + 5 characters, then "..."."""
    if len(text) <= length + 5:
        return text
    return text[: length - 3].rsplit(" ", 1)[0] + "..."


@router.get("/experiments/{experiment_id}")
def runs(
    request: Request,
    session: Signed,
    experiment_id: str,
    filter: Text = None,
    order: Annotated[str | None, Query(max_length=300)] = None,
    cols: Annotated[list[str], Query(max_length=100)] = [],  # noqa: B006 (FastAPI copies it)
    page_token: Token = None,
) -> Response:
    tracking = session.view.tracking
    experiment = tracking.get_experiment(experiment_id)
    found = tracking.search_runs(
        experiment.id,
        filter=filter.strip() or None if filter else None,
        order_by=[order] if order else None,
        limit=100,
        page_token=page_token,
    )
    every, shown = _columns(found.items, [c[:300] for c in cols])
    name = "experiments/runs_table.html" if is_fragment(request) else "experiments/runs.html"
    return page(
        request,
        name,
        nav="experiments",
        experiment=experiment,
        found=found,
        cells=_cells(found.items, shown),
        every=every,
        shown=shown,
        filter=filter or "",
        order=order or "",
        cols_qs="".join("&cols=" + quote(c) for c in shown),
    )


@router.get("/runs/{run_id}")
def run(
    request: Request,
    session: Signed,
    run_id: str,
    path: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    tracking = session.view.tracking
    found = tracking.get_run(run_id)
    experiment = tracking.get_experiment(found.experiment_id)
    files = tracking.list_artifacts(run_id, path or None, limit=200)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    return page(
        request,
        "experiments/run.html",
        nav="experiments",
        run=found,
        experiment=experiment,
        files=files,
        path=path,
        parent=parent,
    )


@router.get("/runs/{run_id}/artifact")
def artifact(
    request: Request, session: Signed, run_id: str, path: Annotated[str, Query(max_length=1000)]
) -> Response:
    """One artifact's bytes, as a download (never rendered as a page of this origin)."""
    data = session.view.tracking.read_artifact(run_id, path)
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    safe = (
        kind
        if kind.startswith(("text/", "image/png", "image/jpeg"))
        else "application/octet-stream"
    )
    name = path.rsplit("/", 1)[-1].replace('"', "")
    headers = dict(SECURITY_HEADERS) | {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type=safe, headers=headers)


def _run_ids(runs: list[str]) -> list[str]:
    ids = list(dict.fromkeys(r.strip()[:100] for r in runs if r.strip()))
    if not 1 <= len(ids) <= MAX_COMPARE:
        raise InvalidArgument(f"pick between 1 and {MAX_COMPARE} runs to compare", runs=len(ids))
    return ids


@router.get("/compare")
def compare(request: Request, session: Signed, runs: RunIds = []) -> Response:  # noqa: B006
    ids = _run_ids(runs)
    found = session.view.tracking.compare_runs(ids)
    return page(
        request,
        "experiments/compare.html",
        nav="experiments",
        c=found,
        ids=ids,
        qs="".join("&runs=" + quote(r) for r in ids),
    )


@router.get("/compare/metric.json")
def compare_metric(
    session: Signed,
    key: Annotated[str, Query(min_length=1, max_length=250)],
    runs: RunIds = [],  # noqa: B006
    rollup: bool = False,
) -> Response:
    """One metric of the compared runs, downsampled to shared x (steps) for uPlot;
    ``rollup``: from the rollup of 16-step blocks (the first draw; ``coarse`` in the
    answer tells the page to fetch the exact buckets when the user zooms)."""
    ids = _run_ids(runs)
    tracking = session.view.tracking
    found = tracking.metric_buckets(ids, key, buckets=BUCKETS, rollup=rollup)
    x, values = aligned(found, ids)
    names = [n or r for n, r in zip(tracking.compare_runs(ids).run_names, ids, strict=True)]
    body = {
        "x": x,
        "time": False,
        "coarse": found.coarse,
        "series": [{"label": n, "values": v} for n, v in zip(names, values, strict=True)],
    }
    # orjson: 100 series of 1,000 points encode in a tenth of the stdlib's time
    return Response(
        orjson.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"}
    )
