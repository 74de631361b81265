"""Training routes, made from the training operation table (``shipyard.training.ops``)."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.training.ops import OPS
from shipyard.training.protocol import TrainingAPI

router = CapabilityRouter(tags=["training"])
mount(router, "training", TrainingAPI, OPS)
