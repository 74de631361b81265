"""Environments and promotion between them (ADR 0028), made from ``shipyard.environments.ops``."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.environments.ops import OPS
from shipyard.environments.protocol import EnvironmentAPI

router = CapabilityRouter(tags=["environments"])
mount(router, "environments", EnvironmentAPI, OPS)
