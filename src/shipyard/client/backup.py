"""Backups over HTTP: ``BackupAPI`` from its operation table."""

from __future__ import annotations

from shipyard.backup.protocol import BackupAPI
from shipyard.client.ops import Op, RemoteService

OPS = {
    "create_backup": Op("POST", "/backups"),
    "list_backups": Op("GET", "/backups"),
    "get_backup": Op("GET", "/backups/{point_id}"),
    "verify_backup": Op("POST", "/backups/{point_id}/verify"),
    "prune_backups": Op("POST", "/backups/-/prune"),
}


class RemoteBackupService(RemoteService, BackupAPI, ops=OPS):
    """``BackupService`` over HTTP."""
