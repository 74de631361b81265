"""A project whose lake and artifacts are in S3 is backed up and restored onto local folders."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pandas as pd

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.platform import Platform
from tests.contract.moto_s3 import moto_s3

restore = partial(restore_point, open_platform=Platform.open)


def test_s3_lake_to_local_folders(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with moto_s3() as s3:
        bucket = s3.new_bucket("lake")
        settings = {
            "lake": {"root": f"s3://{bucket}/lake", "storage_options": s3.delta_options()},
            "artifacts": {"root": f"s3://{bucket}/art", "storage_options": s3.boto3_options()},
        }
        with Platform.open(src, **settings) as p:
            p.lake.write("bronze.t", pd.DataFrame({"a": [1, 2]}))
            p.lake.write("bronze.t", pd.DataFrame({"a": [3]}))
            p.backends.artifacts.get().put_bytes(b"m", "e/r/artifacts/m.bin")
            point = p.backup.create_backup()
            assert {t.name: (t.version, t.num_rows) for t in point.tables}["bronze.t"] == (1, 3)
            assert p.backup.verify_backup(point.id).ok
            archive = Archive(p.backends.backups.get())
        restore(archive, point.id, tmp_path / "dst")
    with Platform.open(tmp_path / "dst") as q:
        assert not q.settings.lake_root.startswith("s3://")
        table = q.lake.get_table("bronze.t")
        assert (table.version, table.num_rows) == (1, 3)
        assert q.lake.sql("SELECT sum(a) AS s FROM bronze.t").to_pylist() == [{"s": 6}]
        assert q.backends.artifacts.get().get_bytes("e/r/artifacts/m.bin") == b"m"
