"""Event-bus routes, made from the event bus's operation table (``shipyard.events.ops``)."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.events.ops import OPS
from shipyard.events.protocol import EventAPI

router = CapabilityRouter(prefix="/events", tags=["events"])
mount(router, "events", EventAPI, OPS)
