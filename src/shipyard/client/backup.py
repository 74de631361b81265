"""Backups over HTTP: ``BackupAPI`` from its operation table (``shipyard.backup.ops``)."""

from __future__ import annotations

from shipyard.backup.ops import OPS
from shipyard.backup.protocol import BackupAPI
from shipyard.client.ops import RemoteService


class RemoteBackupService(RemoteService, BackupAPI, ops=OPS):
    """``BackupService`` over HTTP."""
