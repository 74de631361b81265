"""Event-bus routes, made from the event bus's operation table (``shipyard.events.ops``)."""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.generated import mount
from shipyard.events.ops import OPS
from shipyard.events.protocol import EventAPI

router = APIRouter(prefix="/events", tags=["events"])
mount(router, "events", EventAPI, OPS)
