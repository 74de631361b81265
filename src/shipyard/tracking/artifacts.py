"""The artifact store seam: files of runs and models under one root.

Keys are relative POSIX paths (``<experiment>/<run>/artifacts/model/MLmodel``);
``safe_key`` refuses anything that could step out of the root. The embedded
backend is a local folder; ``s3://bucket/prefix`` roots use ``S3ArtifactStore``.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath

from shipyard.errors import InvalidArgument, NotFound, QuotaExceeded
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
    def list(self, prefix: str, *, limit: int | None = None) -> list[FileInfo]:
        """Direct children of ``prefix`` (keys under ``prefix``), never through a symlink.

        With ``limit``, at most ``limit + 1`` entries (so a caller can tell "more").
        """

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
        lexical = self.root / safe_key(key)
        path = lexical.resolve()
        if path != lexical:  # a symlink on the way: never followed, wherever it points
            raise InvalidArgument(f"artifact path '{key}' goes through a symbolic link", path=key)
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

    def list(self, prefix: str, *, limit: int | None = None) -> list[FileInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        out = []
        with os.scandir(base) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                out.append(
                    FileInfo(
                        path=posixpath.join(prefix, entry.name) if prefix else entry.name,
                        is_dir=is_dir,
                        file_size=None if is_dir else entry.stat(follow_symlinks=False).st_size,
                    )
                )
                if limit is not None and len(out) > limit:
                    break
        return sorted(out, key=lambda f: f.path)

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


def list_dir(store: ArtifactStore, prefix: str, *, max_entries: int) -> list[FileInfo]:
    """``store.list(prefix)``, refused with ``QuotaExceeded`` beyond ``max_entries``."""
    items = store.list(prefix, limit=max_entries)
    if len(items) > max_entries:
        raise QuotaExceeded(
            f"the folder has more than {max_entries} entries (artifacts.list_max_entries)",
            limit=max_entries,
        )
    return items


def walk_files(
    store: ArtifactStore, prefix: str, *, max_entries: int, max_depth: int
) -> list[FileInfo]:
    """Every file under ``prefix`` (paths relative to it), bounded and loop-free.

    Only keys strictly below the folder being listed are followed and each key
    once, so a misbehaving store cannot make this loop.

    Raises:
        InvalidArgument: ``prefix`` is empty (the whole store). QuotaExceeded: more
            than ``max_entries`` entries or deeper than ``max_depth`` folders.
    """
    base = safe_key(prefix)
    if not base:
        raise InvalidArgument("refusing to list the whole artifact store")
    seen: set[str] = set()
    files: list[FileInfo] = []
    todo = [(base, 1)]
    while todo:
        folder, depth = todo.pop()
        for item in list_dir(store, folder, max_entries=max_entries):
            key = posixpath.normpath(item.path)
            if not key.startswith(folder + "/") or key in seen:
                continue
            seen.add(key)
            if len(seen) > max_entries:
                raise QuotaExceeded(
                    f"more than {max_entries} files (artifacts.list_max_entries)",
                    limit=max_entries,
                )
            if not item.is_dir:
                files.append(item.model_copy(update={"path": key[len(base) + 1 :]}))
            elif depth >= max_depth:
                raise QuotaExceeded(
                    f"folders nest deeper than {max_depth} levels (artifacts.list_max_depth)",
                    limit=max_depth,
                )
            else:
                todo.append((key, depth + 1))
    return sorted(files, key=lambda f: f.path)


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
