"""Markers of lake writes in flight: "table X may be ahead of the catalog".

A lake write commits to Delta first and records the catalog version and the
audit record afterwards, in a separate metadata transaction. A writer drops a
marker file (``<home>/lake-pending/<uuid>.json``: table, team, principal,
action, batch id) before its Delta work and removes it once the catalog
transaction has committed. While the write runs it holds an exclusive ``flock``
on the marker, which the OS releases when the process ends; so a marker nobody
holds a lock on belongs to a write that crashed or failed between the two
commits. Finding those is one directory listing (usually of an empty folder),
not a scan of every table.

Markers live on the local disk of the process that wrote: with a shared remote
lake, a host's orphaned writes are reconciled when that host next uses the lake
(``shipyard lake reconcile --all`` compares every table instead).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: orphans are told by age instead
    fcntl = None  # type: ignore[assignment]

#: Without ``flock`` (Windows), a marker this old is taken for an orphan.
STALE_SECONDS = 3600.0


@dataclass
class Marker:
    path: Path
    table: str
    info: dict[str, Any] = field(default_factory=dict)
    _handle: IO[str] | None = None

    def release(self, *, done: bool) -> None:
        """Unlock; ``done``: the catalog has the write, so forget the marker too."""
        if done:
            self.path.unlink(missing_ok=True)
        if self._handle is not None:
            self._handle.close()  # drops the flock
            self._handle = None


class PendingWrites:
    """The marker folder of one platform home."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def begin(self, table: str, **info: Any) -> Marker:
        """Drop and lock a marker for a write to ``table`` about to start."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex
        body = {"table": table, "pid": os.getpid(), "created": time.time(), **info}
        tmp = self.folder / f"{name}.tmp"
        handle = tmp.open("w")
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write(json.dumps(body, default=str))
        handle.flush()
        path = tmp.rename(self.folder / f"{name}.json")  # appears locked and complete
        return Marker(path, table, body, handle)

    def orphans(self) -> list[Marker]:
        """Markers of writes that are no longer running, each locked for the caller."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        found = []
        for name in sorted(n for n in names if n.endswith(".json")):
            marker = self._claim(self.folder / name)
            if marker is not None:
                found.append(marker)
        return found

    def _claim(self, path: Path) -> Marker | None:
        try:
            handle = path.open("r+")
        except FileNotFoundError:
            return None  # finished meanwhile
        try:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            elif time.time() - path.stat().st_mtime < STALE_SECONDS:
                raise BlockingIOError
            info = json.loads(handle.read())
        except (BlockingIOError, ValueError):
            handle.close()  # still running (or half written by a writer that holds it)
            return None
        if not path.exists():  # removed between open and lock: that write finished
            handle.close()
            return None
        return Marker(path, str(info.get("table", "")), info, handle)
