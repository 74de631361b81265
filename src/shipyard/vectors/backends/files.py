"""Where the embedded backend's index bytes live: one local file, or objects in a store.

``IndexFiles`` is all ``FaissIndex`` needs: ``read`` the last saved bytes and ``write``
new ones atomically (a crash mid-write leaves the previous bytes readable).

- ``LocalIndexFile``: ``<root>/<name>.npz``, written to a temporary name, flushed and
  renamed over the old file.
- ``StoreIndexFiles``: objects in an ``ArtifactStore`` (the artifact seam; used for
  ``s3://`` roots). An object store has no rename, so each save uploads a new object
  ``<name>/versions/<token>.npz`` and only then replaces the small pointer object
  ``<name>/CURRENT`` (one PUT: readers see the old or the new pointer, never half).
  A save interrupted before the pointer moved leaves an orphan version that nothing
  points to; later saves delete versions older than ``PRUNE_AFTER`` seconds that are
  neither the current nor the previous one (a reader that has just read the previous
  pointer can still fetch its object).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

from shipyard.errors import NotFound
from shipyard.storage.base import ArtifactStore, safe_key

#: Seconds an unreferenced version object is kept (a save may still be about to point at it).
PRUNE_AFTER = 3600.0
POINTER = "CURRENT"
POINTER_FORMAT = 1


class IndexFiles(ABC):
    """The saved bytes of one index."""

    @abstractmethod
    def read(self) -> bytes | None:
        """The bytes of the last completed ``write`` (``None``: nothing saved, or lost)."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Replace the saved bytes atomically: a crash leaves the previous ones readable."""

    @abstractmethod
    def where(self) -> str:
        """A path or URI for messages."""


class LocalIndexFile(IndexFiles):
    """One file on the local disk, replaced by rename."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def where(self) -> str:
        return str(self.path)

    def read(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None

    def write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_stale_temporaries(self.path)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)


class StoreIndexFiles(IndexFiles):
    """Versioned objects under ``<name>/`` of a store, and a pointer written last."""

    def __init__(self, store: ArtifactStore, name: str) -> None:
        self.store = store
        self.name = safe_key(name)

    def where(self) -> str:
        return self.store.uri(self.name)

    def _pointer(self) -> str | None:
        try:
            raw = self.store.get_bytes(safe_key(self.name, POINTER))
        except NotFound:
            return None
        doc = json.loads(raw.decode())
        return str(doc["version"]) if doc.get("format") == POINTER_FORMAT else None

    def _version_key(self, token: str) -> str:
        return safe_key(self.name, "versions", f"{token}.npz")

    def read(self) -> bytes | None:
        for _ in range(2):  # a concurrent save may prune the version between both reads
            token = self._pointer()
            if token is None:
                return None
            try:
                return self.store.get_bytes(self._version_key(token))
            except NotFound:
                continue
        return None  # the pointer names a lost object: the index is rebuilt from the lake

    def write(self, data: bytes) -> None:
        token = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.store.put_bytes(data, self._version_key(token))
        previous = self._pointer()
        doc = {"format": POINTER_FORMAT, "version": token}
        self.store.put_bytes(json.dumps(doc).encode(), safe_key(self.name, POINTER))
        self._prune(keep={token, previous})

    def _prune(self, keep: set[str | None]) -> None:
        """Delete old version objects nothing points to (orphans of interrupted saves too)."""
        cutoff = time.time_ns() - int(PRUNE_AFTER * 1e9)
        for info in self.store.list(safe_key(self.name, "versions")):
            token = info.path.rsplit("/", 1)[-1].removesuffix(".npz")
            try:
                born = int(token.split("-", 1)[0])
            except ValueError:
                continue  # not ours
            if token not in keep and born < cutoff:
                self.store.delete(info.path)


def _drop_stale_temporaries(path: Path) -> None:
    """Remove the temporary files of saves whose process died (``kill -9`` mid-save)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
            os.kill(pid, 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except (ValueError, PermissionError, OSError):
            continue


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
