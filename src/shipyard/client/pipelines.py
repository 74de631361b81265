"""``RemoteJobService`` and ``RemotePipelineService``: ``JobAPI`` and ``PipelineAPI`` over HTTP."""

from __future__ import annotations

from shipyard.client.ops import Args, RemoteService, local
from shipyard.pipelines.models import Job, wait_for
from shipyard.pipelines.ops import JOB_OPS, PIPELINE_OPS
from shipyard.pipelines.protocol import JobAPI, PipelineAPI


class RemoteJobService(RemoteService, JobAPI, ops=JOB_OPS):
    """``JobService`` over HTTP."""

    @local(JobAPI.wait)
    def wait(self, a: Args) -> Job:
        return wait_for(self.get, a["job_id"], a["timeout"])


class RemotePipelineService(RemoteService, PipelineAPI, ops=PIPELINE_OPS):
    """``PipelineService`` over HTTP."""
