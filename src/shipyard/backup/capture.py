"""Take the parts of one consistent restore point from a running project.

The catalog snapshot decides the instant: the lake's tables are copied at the
Delta versions that snapshot recorded (a write that commits to Delta after the
snapshot is not part of the point), so a restored catalog never names a table
version its lake lacks. SQLite is copied with its online backup API; PostgreSQL
with ``pg_dump`` running in a snapshot exported by a REPEATABLE READ transaction,
the same transaction that reads the table versions.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deltalake import DeltaTable

from shipyard.errors import BackendUnavailable, InvalidArgument
from shipyard.storage import ArtifactStore, open_artifact_store

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.config import Settings

_TABLE_VERSIONS = "SELECT name, version FROM assets WHERE kind = 'table' ORDER BY name"
#: deltalake's S3 option names -> boto3's (what the artifact-store seam reads).
_S3_OPTIONS = {
    "aws_endpoint_url": "endpoint_url",
    "endpoint_url": "endpoint_url",
    "aws_region": "region_name",
    "region": "region_name",
    "region_name": "region_name",
    "aws_access_key_id": "aws_access_key_id",
    "aws_secret_access_key": "aws_secret_access_key",
}


@dataclass(frozen=True)
class CatalogSnapshot:
    path: Path
    dialect: str
    #: ``layer.name`` -> the Delta version the snapshot records.
    tables: dict[str, int]
    #: PostgreSQL: the catalog's schema (the first on its search path).
    schema: str | None = None


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as ``pg_dump``/``psql`` take it (no ``+driver``)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}".replace("postgres://", "postgresql://", 1)


def snapshot_catalog(db: Database, workdir: Path) -> CatalogSnapshot:
    """Copy the catalog database to ``workdir`` as of one instant."""
    if db.dialect == "sqlite":
        return _sqlite_snapshot(db, workdir / "catalog.db")
    if db.dialect == "postgresql":
        return _postgres_snapshot(db, workdir / "catalog.dump")
    raise InvalidArgument(f"cannot back up a {db.dialect} catalog", dialect=db.dialect)


def _sqlite_snapshot(db: Database, target: Path) -> CatalogSnapshot:
    source = db.url.split("///", 1)[-1]
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages copied under a read lock: one consistent instant
        tables = dict(dst.execute(_TABLE_VERSIONS).fetchall())
    finally:
        dst.close()
        src.close()
    return CatalogSnapshot(target, "sqlite", tables)


def _postgres_snapshot(db: Database, target: Path) -> CatalogSnapshot:
    if shutil.which("pg_dump") is None:
        raise BackendUnavailable("backing up a PostgreSQL catalog needs pg_dump on the PATH")
    engine = db.engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn, conn.begin():
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar_one())
        rows = conn.exec_driver_sql(_TABLE_VERSIONS).fetchall()
        tables: dict[str, int] = {str(name): int(version) for name, version in rows}
        # pg_dump sees exactly what this transaction sees while it stays open.
        run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
                libpq_url(db.engine.url.render_as_string(hide_password=False)),
            ],
            what="pg_dump",
        )
    return CatalogSnapshot(target, "postgresql", tables, schema)


def run(cmd: list[str], *, what: str) -> None:
    """Run a PostgreSQL tool; its failure becomes one line (no URL, no password)."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BackendUnavailable(f"{what} failed: {last[:300]}")


def object_store(root: str, options: dict[str, str]) -> ArtifactStore:
    """Files under a lake or artifact root through the artifact-store seam."""
    if not root.startswith("s3://"):
        return open_artifact_store(root)
    mapped = {_S3_OPTIONS[k.lower()]: v for k, v in options.items() if k.lower() in _S3_OPTIONS}
    return open_artifact_store(root, mapped)


def table_files(settings: Settings, name: str, version: int) -> tuple[list[str], int]:
    """Keys (under the lake root) of ``name``'s Delta log and data files at ``version``,
    and its row count there."""
    layer, _, short = name.partition(".")
    base = f"{settings.lake_root.rstrip('/')}/{layer}/{short}"
    dt = DeltaTable(base, version=version, storage_options=settings.lake.storage_options or None)
    prefix = dt.table_uri.removeprefix("file://").rstrip("/") + "/"
    data = [uri.removeprefix("file://").removeprefix(prefix) for uri in dt.file_uris()]
    store = object_store(settings.lake_root, settings.lake.storage_options)
    log = [
        item.path
        for item in store.list(f"{layer}/{short}/_delta_log")
        if not item.is_dir
        and _log_version(item.path) is not None
        and _log_version(item.path) <= version  # type: ignore[operator]
    ]
    return log + [f"{layer}/{short}/{key}" for key in data], dt.count()


def _log_version(path: str) -> int | None:
    head = path.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(head) if head.isdigit() else None


def artifact_keys(store: ArtifactStore) -> Iterator[str]:
    """Every file key in the artifact store (a breadth-first walk of its folders)."""
    todo = [""]
    while todo:
        folder = todo.pop()
        for item in store.list(folder):
            if item.is_dir:
                todo.append(item.path)
            else:
                yield item.path


def online_snapshot(settings: Settings, workdir: Path) -> Path | None:
    """A copy of the embedded online store (None for another backend: it is rebuilt)."""
    if settings.online.backend != "sqlite":
        return None
    from shipyard.features.backends.sqlite import SqliteOnlineStoreConfig

    source = SqliteOnlineStoreConfig.from_settings(settings).path
    if not source.exists():
        return None
    target = workdir / "online.db"
    src: Any = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target
