"""Environments over HTTP: ``EnvironmentAPI`` from its operation table."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.environments.ops import OPS
from shipyard.environments.protocol import EnvironmentAPI


class RemoteEnvironmentService(RemoteService, EnvironmentAPI, ops=OPS):
    """``EnvironmentService`` over HTTP (the server's environment is the current one)."""
