"""Prove a restore point: every file's checksum, every table at its version, the catalog."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from deltalake import DeltaTable

from shipyard.backup.archive import Archive
from shipyard.backup.models import FileEntry, RestorePoint, VerifyReport
from shipyard.errors import ShipyardError


def verify_point(archive: Archive, point: RestorePoint, *, parallelism: int = 4) -> VerifyReport:
    """Read back everything ``point`` holds; ``ok`` only when nothing is wrong."""
    if point.status != "complete":
        return VerifyReport(
            id=point.id,
            ok=False,
            files_checked=0,
            tables_checked=0,
            problems=["the restore point is incomplete (its backup never finished)"],
        )
    with ThreadPoolExecutor(parallelism) as pool:
        problems = [
            p for p in pool.map(lambda f: _check_file(archive, point.id, f), point.files) if p
        ]
    with tempfile.TemporaryDirectory(prefix="shipyard-verify-") as tmp:
        work = Path(tmp)
        for table in point.tables:
            problems += _check_table(
                archive, point, table.name, table.version, table.num_rows, work
            )
        problems += _check_catalog(archive, point, work)
    return VerifyReport(
        id=point.id,
        ok=not problems,
        files_checked=len(point.files),
        tables_checked=len(point.tables),
        problems=problems,
    )


def _check_file(archive: Archive, point_id: str, entry: FileEntry) -> str | None:
    try:
        data = archive.read(point_id, entry.key)
    except ShipyardError as exc:
        return f"{entry.key}: {exc.message}"
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        return f"{entry.key}: checksum mismatch (the file changed since the backup)"
    return None


def _check_table(
    archive: Archive, point: RestorePoint, name: str, version: int, rows: int, work: Path
) -> list[str]:
    layer, _, short = name.partition(".")
    try:
        local = archive.local(point.id, f"lake/{layer}/{short}", work / "lake" / name)
        dt = DeltaTable(str(local), version=version)
        found = dt.count()
    except Exception as exc:  # deltalake raises its own (and OS) errors for a broken table
        return [f"table {name} v{version}: cannot be read ({type(exc).__name__})"]
    if dt.version() != version or found != rows:
        return [f"table {name} v{version}: {found} rows, the backup recorded {rows}"]
    return []


def _check_catalog(archive: Archive, point: RestorePoint, work: Path) -> list[str]:
    key = "catalog/catalog.db" if point.catalog_dialect == "sqlite" else "catalog/catalog.dump"
    try:
        local = archive.local(point.id, key, work / "catalog")
    except ShipyardError as exc:
        return [f"{key}: {exc.message}"]
    if point.catalog_dialect == "sqlite":
        conn = sqlite3.connect(f"file:{local}?mode=ro", uri=True)
        try:
            status = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = dict(conn.execute("SELECT name, version FROM assets WHERE kind = 'table'"))
        finally:
            conn.close()
        problems = [] if status == "ok" else [f"{key}: integrity check failed: {status}"]
    else:
        if shutil.which("pg_restore") is None:
            return [f"{key}: pg_restore is not on the PATH, so the dump was not read"]
        done = subprocess.run(
            ["pg_restore", "--list", str(local)], capture_output=True, check=False
        )
        return [] if done.returncode == 0 else [f"{key}: pg_restore cannot read the archive"]
    recorded = {t.name: t.version for t in point.tables}
    if tables != recorded:
        problems.append(f"{key}: its table versions differ from the manifest's")
    return problems
