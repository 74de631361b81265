"""The artifact store seam: files of runs and models under one root.

Keys are relative POSIX paths (``<experiment>/<run>/artifacts/model/MLmodel``);
``safe_key`` refuses anything that could step out of the root. The embedded
backend is a local folder; ``s3://bucket/prefix`` roots use ``S3ArtifactStore``.
"""

from __future__ import annotations

import posixpath
import shutil
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath

from shipyard.errors import InvalidArgument, NotFound
from shipyard.tracking.models import FileInfo

#: A file name on common filesystems (ext4, APFS, NTFS) is at most 255 bytes.
MAX_SEGMENT_BYTES = 255


def safe_key(*parts: str | None) -> str:
    """Join path parts into a relative key; refuse traversal and absolute paths.

    Raises:
        InvalidArgument: a part is absolute, contains ``..``, a backslash or a NUL byte,
            or a segment longer than a file name may be.
    """
    pieces: list[str] = []
    for part in parts:
        if part is None or part in ("", "."):
            continue
        if "\x00" in part or "\\" in part:
            raise InvalidArgument(
                f"artifact path '{part}' contains a forbidden character", path=part
            )
        if part.startswith("/") or PurePosixPath(part).is_absolute():
            raise InvalidArgument(f"artifact path '{part}' must be relative", path=part)
        for seg in part.split("/"):
            if seg == "..":
                raise InvalidArgument(
                    f"artifact path '{part}' may not contain '..' (no path traversal)", path=part
                )
            if len(seg.encode()) > MAX_SEGMENT_BYTES:
                raise InvalidArgument(
                    f"artifact path segment longer than {MAX_SEGMENT_BYTES} bytes",
                    path=part[:100],
                )
            if seg and seg != ".":
                pieces.append(seg)
    return "/".join(pieces)


class ArtifactStore(ABC):
    """Stores and fetches bytes by key. The tracking service decides the keys."""

    #: Whether ``local_path`` returns files in place (no download needed).
    is_local: bool = False

    @abstractmethod
    def uri(self, key: str) -> str:
        """A URI a human (or another tool) can use for ``key``."""

    @abstractmethod
    def put_file(self, local: Path, key: str) -> None: ...

    @abstractmethod
    def put_bytes(self, data: bytes, key: str) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Raises NotFound when ``key`` is not a file."""

    @abstractmethod
    def list(self, prefix: str) -> list[FileInfo]:
        """Direct children of ``prefix`` (paths relative to ``prefix``)."""

    @abstractmethod
    def local_path(self, key: str, cache_dir: Path) -> Path:
        """A local file or folder with the content of ``key`` (downloaded if needed)."""

    @abstractmethod
    def delete(self, prefix: str) -> None: ...

    def put_dir(self, local: Path, key: str) -> None:
        for path in sorted(local.rglob("*")):
            if path.is_file():
                self.put_file(path, safe_key(key, path.relative_to(local).as_posix()))


class LocalArtifactStore(ArtifactStore):
    """Artifacts in a folder on the local disk."""

    is_local = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / safe_key(key)).resolve()
        if path != self.root and self.root not in path.parents:
            raise InvalidArgument(f"artifact path '{key}' escapes the artifact root", path=key)
        return path

    def uri(self, key: str) -> str:
        # safe_key already refuses traversal; no filesystem call on this hot path.
        return str(self.root / safe_key(key))

    def put_file(self, local: Path, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dest)

    def put_bytes(self, data: bytes, key: str) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(dest)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"no artifact at '{key}'", path=key)
        return path.read_bytes()

    def list(self, prefix: str) -> list[FileInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        out = []
        for child in sorted(base.iterdir()):
            rel = posixpath.join(prefix, child.name) if prefix else child.name
            out.append(
                FileInfo(
                    path=rel,
                    is_dir=child.is_dir(),
                    file_size=None if child.is_dir() else child.stat().st_size,
                )
            )
        return out

    def local_path(self, key: str, cache_dir: Path) -> Path:
        path = self._path(key)
        if not path.exists():
            raise NotFound(f"no artifact at '{key}'", path=key)
        return path

    def delete(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def open_artifact_store(root: str, storage_options: dict[str, str] | None = None) -> ArtifactStore:
    """The store for ``root``: a folder, or ``s3://bucket/prefix``."""
    if root.startswith("s3://"):
        from shipyard.tracking.s3 import S3ArtifactStore

        return S3ArtifactStore(root, storage_options or {})
    if "://" in root:
        raise InvalidArgument(
            f"unsupported artifact root '{root}' (a folder or s3://bucket/prefix)", root=root
        )
    return LocalArtifactStore(root)
