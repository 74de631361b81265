"""Restore points (admins): create, list, get, verify, prune. Restoring is local (CLI).

Made from ``shipyard.backup.ops``.
"""

from __future__ import annotations

from shipyard.api.generated import mount
from shipyard.api.routing import CapabilityRouter
from shipyard.backup.ops import OPS
from shipyard.backup.protocol import BackupAPI

router = CapabilityRouter(tags=["backup"])
mount(router, "backup", BackupAPI, OPS)
