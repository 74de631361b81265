"""DeltaStorage.write with a snapshot the caller already holds."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from shipyard.lake.storage import DeltaStorage


def test_write_with_a_stale_snapshot_loses_nothing(tmp_path: Path) -> None:
    storage = DeltaStorage(str(tmp_path / "lake"))
    storage.write("silver.t", pa.table({"x": [1]}))
    stale = storage.open("silver.t")
    storage.write("silver.t", pa.table({"x": [2]}))  # another writer moves on
    new = storage.write("silver.t", pa.table({"x": [3]}), keys=["k"], table=stale)
    assert new.version() == 2
    assert storage.applied(new, "k")
    assert sorted(storage.open("silver.t").to_pyarrow_table().column("x").to_pylist()) == [1, 2, 3]
