"""``kill -9`` during an index update leaves the previous index loadable; the next update
catches up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from shipyard.platform import Platform
from tests.unit.vectors.test_service import SPEC, _table

# The child stops right before the atomic rename (the new file fully written under its
# temporary name), says so, and waits to be killed.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from shipyard.platform import Platform

    def stop(src, dst):
        print("SAVING", flush=True)
        time.sleep(600)

    os.replace = stop
    Platform.open(sys.argv[1]).vectors.build("items")
    """
)


def test_kill_9_mid_update_leaves_the_previous_version(platform: Platform) -> None:
    platform.lake.write("gold.items", _table(range(300)))
    platform.vectors.apply([SPEC])
    platform.vectors.build("items")
    platform.lake.write("gold.items", _table(range(300, 400), seed=2))
    home: Path = platform.settings.project_dir
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "SAVING"
        assert list((platform.settings.home_dir / "vectors").glob(".items.npz.*.tmp"))
    finally:
        child.kill()  # SIGKILL
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    again = Platform.open(home)
    try:
        before = again.vectors.query("items", [0.0] * 8, k=1000)
        assert (before.table_version, before.matched) == (0, 300)
        state = again.vectors.build("items")
        assert (state.mode, state.table_version, state.rows) == ("incremental", 1, 400)
        assert again.vectors.query("items", id=350, k=3).table_version == 1
        assert not list(
            (again.settings.home_dir / "vectors").glob(".items.npz.*.tmp")
        )  # the dead save's file is gone
    finally:
        again.close()
