"""Quotas and rate limits (issue #16), made from ``shipyard.quotas.ops``."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.quotas.ops import OPS
from shipyard.quotas.protocol import QuotaAPI

router = CapabilityRouter(tags=["quotas"])
mount(router, "quotas", QuotaAPI, OPS)
