"""Backup and restore: consistent restore points of the catalog, lake, artifacts and
online store (docs/operations.md#backup-and-restore)."""

from shipyard.backup.models import PruneReport, RestorePoint, RestoreReport, VerifyReport

__all__ = ["PruneReport", "RestorePoint", "RestoreReport", "VerifyReport"]
