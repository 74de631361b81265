"""Platform as code (issue #16): ``POST /platform/plan`` and ``/platform/apply``.

Made from ``shipyard.platform_code.ops``. The files are read by the client; only the
desired state (JSON) and the saved plan travel, so the server never runs user code.
"""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.platform_code.ops import OPS
from shipyard.platform_code.protocol import PlatformCodeAPI

router = CapabilityRouter(tags=["platform"])
mount(router, "platform_code", PlatformCodeAPI, OPS)
