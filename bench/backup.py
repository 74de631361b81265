"""Backup and restore times: the demo project (issue #16: backup < 10 s) and a lake of
``--lake-gb`` GB of Parquet in Delta tables (issue #16: restore of 10 GB < 10 min).

Usage: ``python bench/backup.py [--customers 2000] [--lake-gb 1.0] [--keep DIR]``.
The big lake is random float64 columns (Parquet barely compresses them), written
as several Delta tables through the lake service; one backup and one restore are
timed, and the throughput is reported so a 10 GB figure can be read off.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
from rich.console import Console

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore as restore_point
from shipyard.demo.golden_path import run_demo
from shipyard.platform import Platform

#: Restores with this platform (the backup package does not import it).
restore = partial(restore_point, open_platform=Platform.open)


def _timed(label: str, fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s", flush=True)
    return out, seconds


def demo(root: Path, customers: int) -> None:
    project = root / "demo"
    run_demo(project, customers=customers, requests=5, console=Console(file=io.StringIO()))
    with Platform.open(project) as p:
        for i in range(3):
            point, _ = _timed(f"demo backup create #{i + 1}", p.backup.create_backup)
        print(
            f"  {len(point.tables)} tables, {point.artifacts} artifacts, {point.total_bytes:,} bytes"
        )
        _timed("demo backup verify", lambda: p.backup.verify_backup(point.id))
        archive = Archive(p.backends.backups.get())
    _timed("demo restore", lambda: restore(archive, point.id, root / "demo-restored"))


def big_lake(root: Path, gigabytes: float) -> None:
    project = root / "big"
    project.mkdir()
    rows_per_batch = 2_000_000  # 8 float64 columns: about 128 MB per batch
    batches = max(1, round(gigabytes * 1024 / 128))
    rng = np.random.default_rng(0)
    with Platform.open(project) as p:
        for b in range(batches):
            cols = {f"c{i}": rng.random(rows_per_batch) for i in range(8)}
            cols["id"] = np.arange(b * rows_per_batch, (b + 1) * rows_per_batch)
            p.lake.write(f"bronze.big{b % 4}", pa.table(cols), mode="append")
        point, create_s = _timed("big lake backup create", p.backup.create_backup)
        size = point.total_bytes / 1e9
        _timed("big lake backup verify", lambda: p.backup.verify_backup(point.id))
        archive = Archive(p.backends.backups.get())
    _, restore_s = _timed(
        "big lake restore", lambda: restore(archive, point.id, root / "big-restored")
    )
    print(
        f"  {size:.2f} GB: backup {size / create_s * 60:.1f} GB/min, restore {size / restore_s * 60:.1f} GB/min"
    )
    print(f"  10 GB restore at this rate: {10 / size * restore_s / 60:.1f} min")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--lake-gb", type=float, default=1.0)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        demo(root, args.customers)
        if args.lake_gb > 0:
            big_lake(root, args.lake_gb)


if __name__ == "__main__":
    main()
