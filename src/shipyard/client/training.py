"""``RemoteTrainingService``: ``TrainingAPI`` over HTTP."""

from __future__ import annotations

from shipyard.client.ops import Op, RemoteService
from shipyard.training.protocol import TrainingAPI

JOB = "/training/jobs/{job_id}"

OPS = {
    "submit": Op("POST", "/training/jobs"),
    "get": Op("GET", JOB),
    "list": Op("GET", "/training/jobs"),
    "logs": Op("GET", JOB + "/logs", unwrap="logs"),
    "cancel": Op("POST", JOB + "/cancel"),
    "tune": Op("POST", "/training/studies"),
    "get_study": Op("GET", "/training/studies/{name}"),
}


class RemoteTrainingService(RemoteService, TrainingAPI, ops=OPS):
    """``TrainingService`` over HTTP."""
