"""Backups: create, list, verify and prune restore points (admins only, audited).

Restoring writes a new project rather than changing this one, so it is not a
method here but ``shipyard.backup.restore.restore`` (the CLI's ``backup restore``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from shipyard._internal.clock import utcnow
from shipyard._internal.paging import Page, page_in_memory, resolve_limit
from shipyard._internal.shared import Shared
from shipyard.backup import capture
from shipyard.backup.archive import Archive, check_id, new_id
from shipyard.backup.models import FileEntry, PruneReport, RestorePoint, TableEntry, VerifyReport
from shipyard.backup.verify import verify_point
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.security.models import ALL_TEAMS, Permission
from shipyard.storage import ArtifactStore

#: (source store, key in it, key in the restore point)
Copy = tuple[ArtifactStore, str, str]


class BackupService(Service):
    """Restore points of this project in ``backup.root`` (docs/operations.md)."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        artifacts: Shared[ArtifactStore],
        archive: Callable[[], Archive],
    ) -> None:
        super().__init__(ctx)
        self._artifacts = artifacts
        self._archive = archive

    def create_backup(self) -> RestorePoint:
        """Write one consistent restore point, then apply the retention policy.

        Raises:
            PermissionDenied: the caller is not an admin.
            BackendUnavailable: the catalog, the lake or the backup root failed.
        """
        # Authorized up front and audited after: a mutation's transaction would hold the
        # catalog's write lock for the whole copy.
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="backup.create")
        try:
            point = self._write_point()
        except ShipyardError as exc:
            self._record("backup.create", None, "error", {"error_code": exc.code})
            raise
        self._record("backup.create", point.id, "ok", {"bytes": point.total_bytes})
        self._prune(self._ctx.settings.backup.keep_last)
        return point

    def _record(
        self, action: str, point_id: str | None, outcome: str, details: dict[str, Any]
    ) -> None:
        with self._ctx.db.begin() as conn:
            self._ctx.audit.write(
                conn,
                principal=self.principal.name,
                action=action,
                outcome=outcome,
                asset=f"backup:{point_id}" if point_id else None,
                team=ALL_TEAMS,
                details=details,
            )

    def _write_point(self) -> RestorePoint:
        settings, archive = self._ctx.settings, self._archive()
        started = time.perf_counter()
        now = utcnow()
        point = RestorePoint(
            id=new_id(now), status="incomplete", started_at=now, project=settings.project
        )
        archive.start(point)
        with tempfile.TemporaryDirectory(prefix="shipyard-backup-") as tmp:
            work = Path(tmp)
            snap = capture.snapshot_catalog(self._ctx.db, work)
            point.catalog_dialect, point.catalog_schema = snap.dialect, snap.schema
            point.files.append(archive.put_file(point.id, snap.path, f"catalog/{snap.path.name}"))
            online = capture.online_snapshot(settings, work)
            point.online = "sqlite" if online is not None else "rebuild"
            if online is not None:
                point.files.append(archive.put_file(point.id, online, "online/online.db"))
            copies = self._lake_copies(snap.tables, point)
            artifacts = self._artifacts.get()
            keys = list(capture.artifact_keys(artifacts))
            copies += [(artifacts, k, f"artifacts/{k}") for k in keys]
            point.artifacts = len(keys)
            point.files += self._copy_all(archive, point.id, copies, work / "cache")
        point.total_bytes = sum(f.size for f in point.files)
        point.status, point.finished_at = "complete", utcnow()
        point.seconds = round(time.perf_counter() - started, 3)
        archive.finish(point)
        return point

    def _lake_copies(self, tables: dict[str, int], point: RestorePoint) -> list[Copy]:
        settings = self._ctx.settings
        lake = capture.object_store(settings.lake_root, settings.lake.storage_options)
        copies: list[Copy] = []
        for name, version in sorted(tables.items()):
            keys, rows = capture.table_files(settings, name, version)
            point.tables.append(TableEntry(name=name, version=version, num_rows=rows))
            copies += [(lake, k, f"lake/{k}") for k in keys]
        return copies

    def _copy_all(
        self, archive: Archive, point_id: str, copies: list[Copy], cache: Path
    ) -> list[FileEntry]:
        def one(copy: Copy) -> FileEntry:
            store, key, target = copy
            return archive.put_file(point_id, store.local_path(key, cache / key), target)

        with ThreadPoolExecutor(self._ctx.settings.backup.parallelism) as pool:
            return list(pool.map(one, copies))

    def list_backups(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[RestorePoint]:
        """Restore points, oldest first, complete and incomplete."""
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="backup.list")
        archive = self._archive()
        points = [p for p in (archive.find(i) for i in archive.ids()) if p is not None]
        size = resolve_limit(self._ctx.settings, limit)
        return page_in_memory(
            points, lambda p: p.id, scope="backups", limit=size, page_token=page_token
        )

    def get_backup(self, point_id: str) -> RestorePoint:
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="backup.get")
        return self._archive().get(check_id(point_id))

    def verify_backup(self, point_id: str) -> VerifyReport:
        """Check every file's SHA-256, every table at its version, and the catalog copy."""
        self._ctx.require(Permission.ADMIN, ALL_TEAMS, action="backup.verify")
        archive = self._archive()
        report = verify_point(archive, archive.get(check_id(point_id)))
        outcome = "ok" if report.ok else "error"
        self._record("backup.verify", point_id, outcome, {"problems": len(report.problems)})
        return report

    def prune_backups(self, *, keep_last: int | None = None) -> PruneReport:
        """Apply the retention policy: keep the newest ``keep_last`` complete points
        (``backup.keep_last`` by default) and drop incomplete ones older than
        ``backup.incomplete_hours``."""
        if keep_last is not None and (isinstance(keep_last, bool) or keep_last < 1):
            raise InvalidArgument("keep_last must be at least 1", keep_last=keep_last)
        with self._ctx.mutation("backup.prune", team=ALL_TEAMS, permission=Permission.ADMIN) as m:
            report = self._prune(keep_last or self._ctx.settings.backup.keep_last)
            m.details = {"deleted": report.deleted}
        return report

    def _prune(self, keep_last: int) -> PruneReport:
        archive = self._archive()
        cutoff = utcnow() - timedelta(hours=self._ctx.settings.backup.incomplete_hours)
        complete = 0
        deleted: list[str] = []
        kept: list[str] = []
        for point_id in archive.ids():  # newest first
            point = archive.find(point_id)
            if point is None:
                continue
            if point.status == "complete":
                complete += 1
                drop = complete > keep_last
            else:  # a backup may still be writing it: only old ones are abandoned
                drop = point.started_at < cutoff
            if drop:
                archive.delete(point_id)
                deleted.append(point_id)
            else:
                kept.append(point_id)
        return PruneReport(deleted=deleted, kept=kept)
