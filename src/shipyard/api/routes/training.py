"""Training routes, made from the training operation table (``shipyard.training.ops``)."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.generated import mount
from shipyard.training.ops import OPS
from shipyard.training.protocol import TrainingAPI

router = APIRouter(tags=["training"])
mount(router, "training", TrainingAPI, OPS)
