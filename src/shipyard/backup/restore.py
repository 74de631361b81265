"""Restore a restore point into a new, empty project (and, optionally, a new PostgreSQL database).

Restoring never touches the project that was backed up: it writes a new project
folder whose ``shipyard.yaml`` names where its catalog, lake and artifacts go, so
a DR drill can run beside production. Every file is checked against the
manifest's SHA-256 before it is written.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from shipyard._internal.db import Database
from shipyard.backup.archive import Archive, check_id, sha256_file
from shipyard.backup.capture import libpq_url, object_store, run
from shipyard.backup.convert import postgres_dump_into_sqlite, sqlite_into_postgres
from shipyard.backup.models import RestorePoint, RestoreReport
from shipyard.config import CONFIG_FILE, Settings, load_settings
from shipyard.errors import BackendUnavailable, Conflict, mask_url
from shipyard.storage import ArtifactStore, open_artifact_store

#: Opens the project at a folder, e.g. ``Platform.open`` (this package does not import it).
OpenPlatform = Callable[[Path], AbstractContextManager[Any]]
#: A PostgreSQL restore point's catalog: a ``pg_dump`` custom-format archive.
_DUMP = "catalog/catalog.dump"


def restore(
    archive: Archive,
    point_id: str,
    target: str | Path,
    *,
    catalog_url: str | None = None,
    lake_root: str | None = None,
    artifact_root: str | None = None,
    settings: dict[str, Any] | None = None,
    open_platform: OpenPlatform,
) -> RestoreReport:
    """Restore ``point_id`` into the empty folder ``target`` (created if absent).

    Args:
        catalog_url: a new, empty PostgreSQL database (either kind of restore point);
            empty means a SQLite file in the new home (either kind too: a PostgreSQL
            point's rows are read from its ``pg_dump`` archive, no server needed).
        lake_root, artifact_root: folders or ``s3://`` roots (default: the new home).
        open_platform: opens a project (``Platform.open``): the restored one is opened to
            upgrade its catalog schema and, when needed, rebuild its online store.
        settings: more settings of the new project's ``shipyard.yaml`` (by section, e.g.
            ``{"online": {"backend": "redis", "url": ...}}``: fresh backends for a DR drill).

    Raises:
        Conflict: the point is incomplete, ``target`` is not empty, or the database is not.
        InvalidArgument: a PostgreSQL point of another release's schema asked into SQLite.
    """
    started = time.perf_counter()
    point = archive.get(check_id(point_id))
    if point.status != "complete":
        raise Conflict(f"restore point '{point_id}' is incomplete; restore an earlier one")
    project = Path(target).expanduser().resolve()
    if project.exists() and any(project.iterdir()):
        raise Conflict(f"'{project}' is not empty: restore into a new folder", path=str(project))
    config = _config(point, project, catalog_url, lake_root, artifact_root, settings or {})
    new = _new_project(project, config)
    try:
        with tempfile.TemporaryDirectory(prefix="shipyard-restore-") as tmp:
            cache = Path(tmp)
            _restore_catalog(archive, point, new, cache)
            _restore_files(archive, point, new, cache)
            online = _restore_online(archive, point, new, cache, open_platform)
        _open(project, open_platform)
    except BaseException:
        shutil.rmtree(project, ignore_errors=True)  # no half-restored project is left behind
        raise
    return RestoreReport(
        id=point.id,
        project_dir=str(project),
        catalog_url=mask_url(new.catalog_url),
        tables=len(point.tables),
        artifacts=point.artifacts,
        online=online,
        seconds=round(time.perf_counter() - started, 3),
    )


def _config(
    point: RestorePoint,
    project: Path,
    catalog_url: str | None,
    lake_root: str | None,
    artifact_root: str | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    config: dict[str, Any] = {"project": point.project or project.name}
    for section, key, value in (
        ("catalog", "url", catalog_url),
        ("lake", "root", lake_root),
        ("artifacts", "root", artifact_root),
    ):
        if value:
            config[section] = {key: value}
    for section, values in extra.items():
        if isinstance(values, dict) and isinstance(config.get(section), dict):
            config[section] = {**config[section], **values}
        else:
            config[section] = values
    return config


def _new_project(project: Path, config: dict[str, Any]) -> Settings:
    project.mkdir(parents=True, exist_ok=True)
    (project / CONFIG_FILE).write_text(yaml.safe_dump(config, sort_keys=False))
    settings = load_settings(project)
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _checked(archive: Archive, point: RestorePoint, key: str, cache: Path) -> Path:
    """The local copy of ``key``, refused unless it matches the manifest."""
    entry = next(f for f in point.files if f.key == key)
    local = archive.local(point.id, key, cache / key)
    if sha256_file(local) != entry.sha256:
        raise Conflict(f"{key} in restore point '{point.id}' is damaged (checksum mismatch)")
    return local


def _restore_catalog(
    archive: Archive, point: RestorePoint, settings: Settings, cache: Path
) -> None:
    dialect = "postgresql" if settings.catalog_url.startswith("postgres") else "sqlite"
    if dialect == "sqlite":
        target = Path(settings.catalog_url.split("///", 1)[-1])
        if target.exists():
            raise Conflict(f"'{target}' exists: restore into a new catalog file")
        if point.catalog_dialect == "postgresql":  # the catalog moves into the embedded one
            dump = _checked(archive, point, _DUMP, cache)
            postgres_dump_into_sqlite(dump, target, point.catalog_schema or "public")
        else:
            shutil.copyfile(_checked(archive, point, "catalog/catalog.db", cache), target)
        return
    db = Database(settings.catalog_url)
    try:
        if sa.inspect(db.engine).get_table_names():
            raise Conflict("the target PostgreSQL database is not empty: restore into a new one")
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[-1]
        raise BackendUnavailable(
            f"cannot reach the target database {mask_url(settings.catalog_url)}: {reason}"
        ) from None
    finally:
        db.dispose()
    if point.catalog_dialect == "sqlite":  # the embedded catalog moves to PostgreSQL
        sqlite_into_postgres(
            _checked(archive, point, "catalog/catalog.db", cache), settings.catalog_url
        )
        return
    dump = _checked(archive, point, _DUMP, cache)
    run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={libpq_url(settings.catalog_url)}",
            str(dump),
        ],
        what="pg_restore",
    )


def _restore_online(
    archive: Archive,
    point: RestorePoint,
    settings: Settings,
    cache: Path,
    open_platform: OpenPlatform,
) -> str:
    if point.online == "sqlite" and settings.online.backend == "sqlite":
        from shipyard.features.backends.sqlite import SqliteOnlineStoreConfig

        path = SqliteOnlineStoreConfig.from_settings(settings).path
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_checked(archive, point, "online/online.db", cache), path)
        return "restored"
    with open_platform(settings.project_dir) as p:
        # From the beginning: the restored watermarks describe the store that was lost.
        p.features.materialize(start=datetime(1970, 1, 1, tzinfo=UTC))
    return "rebuilt"


def _open(project: Path, open_platform: OpenPlatform) -> None:
    """Open the restored project once: it upgrades an older catalog schema to this release."""
    with open_platform(project):
        pass


def _restore_files(archive: Archive, point: RestorePoint, settings: Settings, cache: Path) -> None:
    """The lake's Delta files and the artifacts, each checked against the manifest."""
    lake = object_store(settings.lake_root, settings.lake.storage_options)
    arts = open_artifact_store(settings.artifact_root, settings.artifacts.storage_options)
    for entry in point.files:
        root, _, key = entry.key.partition("/")
        store: ArtifactStore | None = {"lake": lake, "artifacts": arts}.get(root)
        if store is not None:
            store.put_file(_checked(archive, point, entry.key, cache), key)
