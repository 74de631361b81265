"""``RemoteMonitoringService``: ``MonitoringAPI`` over HTTP (``shipyard.monitoring.ops``)."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.monitoring.ops import OPS
from shipyard.monitoring.protocol import MonitoringAPI


class RemoteMonitoringService(RemoteService, MonitoringAPI, ops=OPS):
    """``MonitoringService`` over HTTP."""
