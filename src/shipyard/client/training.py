"""``RemoteTrainingService``: ``TrainingAPI`` over HTTP (``shipyard.training.ops``)."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.training.ops import OPS
from shipyard.training.protocol import TrainingAPI


class RemoteTrainingService(RemoteService, TrainingAPI, ops=OPS):
    """``TrainingService`` over HTTP."""
