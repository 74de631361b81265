"""Platform as code over HTTP: ``PlatformCodeAPI`` from its operation table."""

from __future__ import annotations

from shipyard.client.ops import RemoteService
from shipyard.platform_code.ops import OPS
from shipyard.platform_code.protocol import PlatformCodeAPI


class RemotePlatformCodeService(RemoteService, PlatformCodeAPI, ops=OPS):
    """``PlatformCodeService`` over HTTP."""
