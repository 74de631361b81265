"""The artifact-store interface: bytes by relative key under one root.

Keys are relative POSIX paths (``<experiment>/<run>/artifacts/model/MLmodel``);
``safe_key`` refuses anything that could step out of the root. Tracking and the
registry decide the keys; a store only stores and fetches. Every implementation
passes ``tests/contract/artifacts``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from shipyard.errors import InvalidArgument

#: A file name on common filesystems (ext4, APFS, NTFS) is at most 255 bytes.
MAX_SEGMENT_BYTES = 255


class FileInfo(BaseModel):
    """One entry of a listing: a file (with its size) or a folder."""

    path: str
    is_dir: bool
    file_size: int | None = None


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
    """Stores and fetches bytes by key. The tracking service decides the keys.

    Every method refuses an unsafe key with ``InvalidArgument`` (see ``safe_key``)
    and turns a driver failure into ``BackendUnavailable``.
    """

    #: Whether ``local_path`` returns files in place (no download needed).
    is_local: bool = False

    @abstractmethod
    def uri(self, key: str) -> str:
        """A URI a human (or another tool) can use for ``key``."""

    @abstractmethod
    def put_file(self, local: Path, key: str) -> None:
        """Copy the file ``local`` to ``key`` (replacing what was there)."""

    @abstractmethod
    def put_bytes(self, data: bytes, key: str) -> None:
        """Store ``data`` at ``key`` (replacing what was there; readers never see half)."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The content of the file ``key``.

        Raises:
            NotFound: ``key`` is not a file.
        """

    @abstractmethod
    def list(self, prefix: str, *, limit: int | None = None) -> list[FileInfo]:
        """Direct children of ``prefix`` (keys under ``prefix``), never through a symlink.

        Sorted by path; empty for a missing folder. With ``limit``, at most
        ``limit + 1`` entries (so a caller can tell "more").
        """

    @abstractmethod
    def local_path(self, key: str, cache_dir: Path) -> Path:
        """A local file or folder with the content of ``key`` (downloaded if needed).

        Raises:
            NotFound: nothing is stored at or under ``key``.
        """

    @abstractmethod
    def delete(self, prefix: str) -> None:
        """Remove the file ``prefix`` or everything under it (nothing there is fine)."""

    def put_dir(self, local: Path, key: str) -> None:
        """Copy every file under the folder ``local`` to keys under ``key``."""
        for path in sorted(local.rglob("*")):
            if path.is_file():
                self.put_file(path, safe_key(key, path.relative_to(local).as_posix()))
