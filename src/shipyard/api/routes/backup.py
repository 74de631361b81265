"""Restore points (admins): create, list, get, verify, prune. Restoring is local (CLI).

Made from ``shipyard.backup.ops``.
"""

from __future__ import annotations

from fastapi import APIRouter

from shipyard.api.generated import mount
from shipyard.backup.ops import OPS
from shipyard.backup.protocol import BackupAPI

router = APIRouter(tags=["backup"])
mount(router, "backup", BackupAPI, OPS)
