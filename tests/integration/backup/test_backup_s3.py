"""Restore points in S3 (moto's server): create, list, verify, damage, restore."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import boto3

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.platform import Platform
from tests.contract.moto_s3 import moto_s3
from tests.unit.backup.conftest import ingest

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)


def test_restore_points_in_s3(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with moto_s3() as s3:
        bucket = s3.new_bucket("backups")
        options = s3.boto3_options()
        backup = {"root": f"s3://{bucket}/shipyard", "storage_options": options}
        with Platform.open(src, backup=backup) as p:
            ingest(p, tmp_path, [1, 2, 3])
            p.backends.artifacts.get().put_bytes(b"w", "e/r/artifacts/m.bin")
            point = p.backup.create_backup()
            assert [x.id for x in p.backup.list_backups().items] == [point.id]
            assert p.backup.verify_backup(point.id).ok
            archive = Archive(p.backends.backups.get())
            restore(archive, point.id, tmp_path / "dst")
            # Damage one object: verify names it.
            client = boto3.client("s3", **options)
            key = f"shipyard/{point.id}/artifacts/e/r/artifacts/m.bin"
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
            report = p.backup.verify_backup(point.id)
            assert not report.ok and "artifacts/e/r/artifacts/m.bin" in report.problems[0]
    with Platform.open(tmp_path / "dst") as q:
        assert q.lake.get_table("bronze.events").num_rows == 3
        assert q.backends.artifacts.get().get_bytes("e/r/artifacts/m.bin") == b"w"
