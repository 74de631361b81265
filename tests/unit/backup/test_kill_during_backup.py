"""``kill -9`` during a backup: the earlier point stays valid, the new one is incomplete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shipyard.backup.archive import Archive
from shipyard.backup.restore import restore
from shipyard.platform import Platform

# The child backs up the project and stops (for us to kill) once the catalog snapshot
# and the first lake files are in the new point: a crash in the middle of the copy.
CHILD = """
import sys, threading, time
from shipyard.backup.archive import Archive
from shipyard.platform import Platform

real = Archive.put_file
calls = []

def slow(self, point_id, local, key):
    entry = real(self, point_id, local, key)
    calls.append(key)
    if len(calls) == 3:
        open(sys.argv[2], "w").write(point_id)
        time.sleep(60)
    return entry

Archive.put_file = slow
with Platform.open(sys.argv[1], backup={"parallelism": 1}) as p:
    p.backup.create_backup()
"""


def test_kill_9_leaves_the_previous_point_valid(seeded: Platform, tmp_path: Path) -> None:
    before = seeded.backup.create_backup()
    signal_file = tmp_path / "copying"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(seeded.settings.project_dir), str(signal_file)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not signal_file.exists():
            assert child.poll() is None, "the backup ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    crashed = signal_file.read_text()

    points = {p.id: p.status for p in seeded.backup.list_backups().items}
    assert points == {before.id: "complete", crashed: "incomplete"}
    assert seeded.backup.verify_backup(before.id).ok
    assert not seeded.backup.verify_backup(crashed).ok
    archive = Archive(seeded.backends.backups.get())
    restore(archive, before.id, tmp_path / "restored", open_platform=Platform.open)
    with Platform.open(tmp_path / "restored") as q:
        assert q.lake.get_table("bronze.events").num_rows == 5
