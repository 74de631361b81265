"""Job functions the pipelines tests run (allowed through ``jobs.modules``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shipyard.pipelines import job


@job
def boom(message: str = "boom", after: float = 0.0) -> None:
    time.sleep(after)
    print("about to fail")
    logging.getLogger("tests.jobs").warning("failing on purpose")
    raise RuntimeError(message)


@job
def hog(megabytes: int = 512) -> int:
    data = bytearray(megabytes * 1024 * 1024)
    return len(data)


@job
def append_after(path: str, seconds: float, started: str) -> str:
    """Mark that it started, wait, then append one line (counts completions)."""
    Path(started).touch()
    time.sleep(seconds)
    with open(path, "a") as f:
        f.write("done\n")
    return "ok"


def not_marked() -> None:
    """In an allowed module but not decorated: refused."""
