"""Principals and tokens, made from the security operation table (``shipyard.security.ops``)."""

from __future__ import annotations

from shipyard.api.deps import Caller
from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.security.models import Principal
from shipyard.security.ops import OPS
from shipyard.security.protocol import SecurityAPI

router = CapabilityRouter(tags=["security"])


@router.get("/whoami")
async def whoami(platform: Caller) -> Principal:
    # No I/O (the caller is already resolved), so no thread-pool hop.
    return platform.security.whoami()


mount(router, "security", SecurityAPI, OPS)
