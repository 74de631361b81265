"""Where restore points live: one folder (or S3 prefix) per point under the backup root.

Layout of one point::

    <root>/<id>/started.json      written first: the point exists but is not usable yet
    <root>/<id>/catalog/...       the catalog snapshot (SQLite copy or pg_dump archive)
    <root>/<id>/lake/<layer>/<name>/...   Delta log and data files up to the recorded version
    <root>/<id>/artifacts/...     every artifact file
    <root>/<id>/online/online.db  the embedded online store (absent for Redis: rebuilt)
    <root>/<id>/manifest.json     written last: every file with its size and SHA-256

A point without ``manifest.json`` is incomplete (the process died while writing it,
e.g. ``kill -9``); it is listed as such, never restored from, and the points before it
are untouched because nothing is ever written outside a point's own folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from shipyard.backup.models import FileEntry, RestorePoint
from shipyard.errors import InvalidArgument, NotFound
from shipyard.storage import ArtifactStore

MANIFEST = "manifest.json"
STARTED = "started.json"
_ID = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{8}$")
_CHUNK = 1 << 20


def check_id(point_id: str) -> str:
    """``point_id`` if it is a restore point id (``20261205T220000000Z-1a2b3c4d``)."""
    if not isinstance(point_id, str) or not _ID.match(point_id):
        raise InvalidArgument(
            "a restore point id looks like 20261205T220000000Z-1a2b3c4d", id=str(point_id)[:64]
        )
    return point_id


def new_id(now: datetime) -> str:
    return (
        f"{now.astimezone(UTC):%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Archive:
    """Restore points in one artifact-style store (a local folder or ``s3://``)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def start(self, point: RestorePoint) -> None:
        self.store.put_bytes(point.model_dump_json().encode(), f"{point.id}/{STARTED}")

    def put_file(self, point_id: str, local: Path, key: str) -> FileEntry:
        """Store ``local`` as ``key`` of the point; the entry carries its checksum."""
        entry = FileEntry(key=key, size=local.stat().st_size, sha256=sha256_file(local))
        self.store.put_file(local, f"{point_id}/{key}")
        return entry

    def finish(self, point: RestorePoint) -> None:
        """Write the manifest: from now on the point is complete."""
        body = point.model_dump(mode="json")
        body["files"] = [f.model_dump() for f in point.files]
        self.store.put_bytes(json.dumps(body).encode(), f"{point.id}/{MANIFEST}")

    def ids(self) -> list[str]:
        """Every point id under the root, newest first."""
        found = [i.path.rsplit("/", 1)[-1] for i in self.store.list("") if i.is_dir]
        return sorted((i for i in found if _ID.match(i)), reverse=True)

    def find(self, point_id: str) -> RestorePoint | None:
        """The point (its manifest, or its start record when incomplete), or None."""
        check_id(point_id)
        try:
            data = json.loads(self.store.get_bytes(f"{point_id}/{MANIFEST}"))
        except NotFound:
            try:
                data = json.loads(self.store.get_bytes(f"{point_id}/{STARTED}"))
            except NotFound:
                return None
            data["status"] = "incomplete"
            return RestorePoint.model_validate(data)
        point = RestorePoint.model_validate(data)
        point.files = [FileEntry.model_validate(f) for f in data.get("files", [])]
        return point

    def get(self, point_id: str) -> RestorePoint:
        point = self.find(point_id)
        if point is None:
            raise NotFound(f"no restore point '{point_id}'", id=point_id)
        return point

    def local(self, point_id: str, key: str, cache_dir: Path) -> Path:
        """A local file or folder with the content of ``key`` (downloaded from S3)."""
        return self.store.local_path(f"{point_id}/{key}", cache_dir)

    def read(self, point_id: str, key: str) -> bytes:
        return self.store.get_bytes(f"{point_id}/{key}")

    def delete(self, point_id: str) -> None:
        self.store.delete(check_id(point_id))
