"""A PostgreSQL catalog is backed up with pg_dump in one snapshot and restored into a new database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.errors import Conflict, InvalidArgument
from shipyard.platform import Platform
from tests.unit.backup.conftest import ingest

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)


@pytest.fixture
def new_db(pg_server_url: str) -> Iterator[str]:
    import psycopg

    name = f"shipyard_r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_catalog_round_trip(tmp_path: Path, pg_url: str, new_db: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src, catalog={"url": pg_url}) as p:
        ingest(p, tmp_path, [1, 2, 3])
        ingest(p, tmp_path, [4])
        p.backends.artifacts.get().put_bytes(b"weights", "e/r/artifacts/model.bin")
        point = p.backup.create_backup()
        assert point.catalog_dialect == "postgresql"
        assert p.backup.verify_backup(point.id).ok
        archive = Archive(p.backends.backups.get())
        # The source database is not empty: restoring into it is refused.
        with pytest.raises(Conflict, match="not empty"):
            restore(archive, point.id, tmp_path / "busy", catalog_url=pg_url)
        report = restore(archive, point.id, tmp_path / "dst", catalog_url=new_db)
    assert not (tmp_path / "busy").exists()
    assert report.tables == len(point.tables)
    with Platform.open(tmp_path / "dst") as q:
        assert q.settings.catalog_url == new_db
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 4)
        assert q.backends.artifacts.get().get_bytes("e/r/artifacts/model.bin") == b"weights"
        assert q.audit.verify().problem is None


def test_an_embedded_catalog_moves_into_postgres(tmp_path: Path, new_db: str) -> None:
    """A SQLite restore point restores into a new PostgreSQL database: every row, the
    audit chain intact, and new rows get fresh ids after the copied ones."""
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src) as p:
        ingest(p, tmp_path, [1, 2, 3])
        ingest(p, tmp_path, [4])
        p.security.create_principal("ann", team="ml", role="editor")
        audited = p.audit.list_records(limit=1000).items  # the backup's own record comes after
        point = p.backup.create_backup()
        assert point.catalog_dialect == "sqlite"
        archive = Archive(p.backends.backups.get())
    report = restore(archive, point.id, tmp_path / "dst", catalog_url=new_db)
    assert report.tables == len(point.tables)
    with Platform.open(tmp_path / "dst") as q:
        assert q.settings.catalog_url == new_db
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 4)
        assert "ml" in q.security.get_principal("ann").roles
        assert [r.id for r in q.audit.list_records(limit=1000).items] == [r.id for r in audited]
        assert q.audit.verify().problem is None
        q.security.create_principal("bob", team="ml", role="viewer")  # ids continue
        assert q.audit.verify().problem is None


def test_a_postgres_point_does_not_restore_into_sqlite(tmp_path: Path, pg_url: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with Platform.open(src, catalog={"url": pg_url}) as p:
        point = p.backup.create_backup()
        archive = Archive(p.backends.backups.get())
    with pytest.raises(InvalidArgument, match="postgresql"):
        restore(archive, point.id, tmp_path / "dst")
