"""The interface of backups: what ``Platform`` and ``shipyard.connect`` both offer.

Restoring writes a new project on the machine that runs it, so it is the local
function ``shipyard.backup.restore.restore`` (and ``shipyard backup restore``).
"""

from __future__ import annotations

from typing import Protocol

from shipyard._internal.paging import Page
from shipyard.backup.models import PruneReport, RestorePoint, VerifyReport


class BackupAPI(Protocol):
    """What ``BackupService`` offers both in-process and over HTTP (admins only)."""

    def create_backup(self) -> RestorePoint:
        """Write one consistent restore point, then apply the retention policy."""
        ...

    def list_backups(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[RestorePoint]:
        """Restore points, oldest first, complete and incomplete."""
        ...

    def get_backup(self, point_id: str) -> RestorePoint: ...
    def verify_backup(self, point_id: str) -> VerifyReport:
        """Check every file's SHA-256, every table at its version, and the catalog copy."""
        ...

    def prune_backups(self, *, keep_last: int | None = None) -> PruneReport:
        """Apply the retention policy (``backup.keep_last`` unless ``keep_last`` is given)."""
        ...
