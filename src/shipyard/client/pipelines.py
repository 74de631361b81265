"""``RemoteJobService`` and ``RemotePipelineService``: ``JobAPI`` and ``PipelineAPI`` over HTTP."""

from __future__ import annotations

from shipyard.client.ops import Args, Op, RemoteService, local
from shipyard.pipelines.models import Job, wait_for
from shipyard.pipelines.protocol import JobAPI, PipelineAPI

JOB = "/jobs/{job_id}"
PIPELINE = "/pipelines/{name}"
RUN = "/pipelines/-/runs/{run_id}"


def _all_or(name: str | None) -> str:
    return "-" if name is None else name


JOB_OPS = {
    "get": Op("GET", JOB),
    "logs": Op("GET", JOB + "/logs", unwrap="logs"),
    "list": Op("GET", "/jobs"),
    "cancel": Op("POST", JOB + "/cancel"),
}

PIPELINE_OPS = {
    "get": Op("GET", PIPELINE),
    "list": Op("GET", "/pipelines"),
    "pause": Op("POST", PIPELINE + "/pause"),
    "resume": Op("POST", PIPELINE + "/resume"),
    "run": Op("POST", PIPELINE + "/runs"),
    "backfill": Op("POST", PIPELINE + "/backfills"),
    "backfill_progress": Op("GET", "/pipelines/-/backfills/{backfill_id}"),
    "get_run": Op("GET", RUN),
    # ``name=None`` (every pipeline's runs) travels as ``-``, which no pipeline can be named.
    "list_runs": Op("GET", PIPELINE + "/runs", encode={"name": _all_or}),
    "logs": Op("GET", RUN + "/logs"),
    "cancel_run": Op("POST", RUN + "/cancel"),
}


class RemoteJobService(RemoteService, JobAPI, ops=JOB_OPS):
    """``JobService`` over HTTP."""

    @local(JobAPI.wait)
    def wait(self, a: Args) -> Job:
        return wait_for(self.get, a["job_id"], a["timeout"])


class RemotePipelineService(RemoteService, PipelineAPI, ops=PIPELINE_OPS):
    """``PipelineService`` over HTTP."""
