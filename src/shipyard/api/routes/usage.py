"""Usage metering and chargeback (issue #16), made from ``shipyard.usage.ops``."""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.usage.ops import OPS
from shipyard.usage.protocol import UsageAPI

router = CapabilityRouter(tags=["usage"])
mount(router, "usage", UsageAPI, OPS)
