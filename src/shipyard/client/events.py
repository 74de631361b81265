"""``RemoteEventService``: ``EventAPI`` over HTTP; ``consume`` commits after each body."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.events.consuming import ConsumingMixin
from shipyard.events.ops import OPS
from shipyard.events.protocol import EventAPI


class RemoteEventService(RemoteService, ConsumingMixin, EventAPI, ops=OPS):
    """``EventService`` over HTTP."""
