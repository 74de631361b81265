"""Restore points: consistent, verifiable, restorable, retained, and never half-trusted."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from shipyard.backup import capture
from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.backup.service import BackupService
from shipyard.errors import (
    BackendUnavailable,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from shipyard.platform import Platform
from tests.unit.backup.conftest import ingest

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)


def archive(platform: Platform) -> Archive:
    return Archive(platform.backends.backups.get())


def test_a_restored_project_has_the_same_tables_artifacts_and_versions(
    seeded: Platform, tmp_path: Path
) -> None:
    point = seeded.backup.create_backup()
    assert point.status == "complete"
    assert {t.name: (t.version, t.num_rows) for t in point.tables}["bronze.events"] == (1, 5)
    assert point.artifacts == 2
    assert seeded.backup.verify_backup(point.id).ok

    report = restore(archive(seeded), point.id, tmp_path / "restored")
    assert report.tables == len(point.tables)
    with Platform.open(tmp_path / "restored") as q:
        table = q.lake.get_table("bronze.events")
        assert (table.version, table.num_rows) == (1, 5)
        assert q.lake.sql("SELECT sum(id) AS s FROM bronze.events").to_pylist() == [{"s": 15}]
        store = q.backends.artifacts.get()
        assert store.get_bytes("exp1/run1/artifacts/model/model.pkl") == b"model bytes"
        # The restored catalog is the backed-up one: its audit log says who backed it up? No:
        # the point was taken before its own record; the restore carries the data's history.
        assert q.audit.list_records(action="lake.ingest").items


def test_the_point_is_the_catalog_instant_not_a_later_delta_commit(
    seeded: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = capture.snapshot_catalog

    def snapshot_then_write(db, work):  # type: ignore[no-untyped-def]
        snap = real(db, work)
        ingest(seeded, tmp_path, [6, 7, 8])  # commits to Delta after the snapshot
        return snap

    monkeypatch.setattr(capture, "snapshot_catalog", snapshot_then_write)
    point = seeded.backup.create_backup()
    assert {t.name: t.version for t in point.tables}["bronze.events"] == 1
    assert seeded.lake.get_table("bronze.events").version == 2
    assert seeded.backup.verify_backup(point.id).ok
    restore(archive(seeded), point.id, tmp_path / "r")
    with Platform.open(tmp_path / "r") as q:
        assert q.lake.get_table("bronze.events").num_rows == 5
        assert q.lake.sql("SELECT count(*) AS n FROM bronze.events").to_pylist() == [{"n": 5}]


def test_verify_names_a_damaged_file(seeded: Platform) -> None:
    point = seeded.backup.create_backup()
    root = Path(seeded.settings.backup_root) / point.id
    parquet = next((root / "lake" / "bronze" / "events").glob("*.parquet"))
    parquet.write_bytes(b"not parquet any more")
    report = seeded.backup.verify_backup(point.id)
    assert not report.ok
    assert any(parquet.name in p and "checksum" in p for p in report.problems)
    assert seeded.audit.list_records(action="backup.verify", outcome="error").items


def test_a_damaged_point_is_not_restored(seeded: Platform, tmp_path: Path) -> None:
    point = seeded.backup.create_backup()
    artifact = (
        Path(seeded.settings.backup_root) / point.id / "artifacts/exp1/run1/artifacts/model/MLmodel"
    )
    artifact.write_bytes(b"changed")
    with pytest.raises(Conflict, match="checksum"):
        restore(archive(seeded), point.id, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_retention_keeps_the_newest_complete_points(project_dir: Path) -> None:
    with Platform.open(project_dir, backup={"keep_last": 2}) as p:
        ids = [p.backup.create_backup().id for _ in range(3)]
        listed = [x.id for x in p.backup.list_backups().items]
        assert listed == ids[1:]
        assert p.backup.prune_backups(keep_last=1).deleted == [ids[1]]
        with pytest.raises(InvalidArgument):
            p.backup.prune_backups(keep_last=0)


def test_an_unfinished_point_is_listed_incomplete_and_never_restored(
    seeded: Platform, tmp_path: Path
) -> None:
    good = seeded.backup.create_backup()
    from shipyard._internal.clock import utcnow
    from shipyard.backup.archive import new_id
    from shipyard.backup.models import RestorePoint

    crashed = RestorePoint(id=new_id(utcnow()), status="incomplete", started_at=utcnow())
    archive(seeded).start(crashed)
    points = {p.id: p.status for p in seeded.backup.list_backups().items}
    assert points == {good.id: "complete", crashed.id: "incomplete"}
    assert not seeded.backup.verify_backup(crashed.id).ok
    with pytest.raises(Conflict, match="incomplete"):
        restore(archive(seeded), crashed.id, tmp_path / "r")
    # A recent incomplete point may still be being written: retention leaves it.
    assert crashed.id in seeded.backup.prune_backups().kept


def test_restore_refuses_a_folder_that_is_not_empty(seeded: Platform, tmp_path: Path) -> None:
    point = seeded.backup.create_backup()
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(Conflict, match="not empty"):
        restore(archive(seeded), point.id, target)
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]


def test_an_unreachable_target_database_is_a_backend_error(
    seeded: Platform, tmp_path: Path
) -> None:
    """A SQLite point may move into PostgreSQL (tests/integration/backup); one that is away
    is named, its password masked, and the half-made project is removed."""
    point = seeded.backup.create_backup()
    url = "postgresql://x:secret@127.0.0.1:1/none"
    with pytest.raises(BackendUnavailable, match="cannot reach") as err:
        restore(archive(seeded), point.id, tmp_path / "r", catalog_url=url)
    assert "secret" not in err.value.message
    assert not (tmp_path / "r").exists()


def test_bad_and_unknown_ids(seeded: Platform) -> None:
    with pytest.raises(InvalidArgument):
        seeded.backup.get_backup("../../etc")
    with pytest.raises(NotFound):
        seeded.backup.get_backup("20261205T220000000Z-1a2b3c4d")


def test_only_admins_back_up_and_refusals_are_audited(seeded: Platform) -> None:
    editor = seeded.security.create_principal("eddie", role="editor", team="default")
    service: BackupService = seeded.as_principal(editor).backup
    for call in (service.create_backup, service.list_backups, service.prune_backups):
        with pytest.raises(PermissionDenied):
            call()
    denied = seeded.audit.list_records(principal="eddie", outcome="denied").items
    assert {r.action for r in denied} == {"backup.create", "backup.list", "backup.prune"}
    point = seeded.backup.create_backup()
    assert seeded.audit.list_records(action="backup.create", asset=f"backup:{point.id}").items
