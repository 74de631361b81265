"""The job and pipeline operation tables: the client and the API routes are made from them
(ADR 0015). Most routes are still written out (``api/routes/pipelines.py``,
``served=False``); ``prune`` is generated."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shipyard._internal.ops import Op

JOB = "/jobs/{job_id}"
PIPELINE = "/pipelines/{name}"
RUN = "/pipelines/-/runs/{run_id}"


def _all_or(name: str | None) -> str:
    return "-" if name is None else name


JOB_OPS = {
    "get": Op("GET", JOB, served=False),
    "logs": Op("GET", JOB + "/logs", unwrap="logs", served=False),
    "list": Op("GET", "/jobs", served=False),
    "cancel": Op("POST", JOB + "/cancel", served=False),
    # Without a body: the configured retention, for real.
    "prune": Op(
        "POST",
        "/jobs/prune",
        optional_body=True,
        types={"older_than_days": Annotated[float, Field(gt=0, le=36_500)] | None},
    ),
}

PIPELINE_OPS = {
    "get": Op("GET", PIPELINE, served=False),
    "list": Op("GET", "/pipelines", served=False),
    "pause": Op("POST", PIPELINE + "/pause", served=False),
    "resume": Op("POST", PIPELINE + "/resume", served=False),
    "run": Op("POST", PIPELINE + "/runs", served=False),
    "backfill": Op("POST", PIPELINE + "/backfills", served=False),
    "backfill_progress": Op("GET", "/pipelines/-/backfills/{backfill_id}", served=False),
    "get_run": Op("GET", RUN, served=False),
    # ``name=None`` (every pipeline's runs) travels as ``-``, which no pipeline can be named.
    "list_runs": Op("GET", PIPELINE + "/runs", encode={"name": _all_or}, served=False),
    "logs": Op("GET", RUN + "/logs", served=False),
    "cancel_run": Op("POST", RUN + "/cancel", served=False),
}
