"""The embedded artifact store: a folder on the local disk."""

from __future__ import annotations

import os
import posixpath
import shutil
from pathlib import Path

from shipyard.errors import InvalidArgument, NotFound
from shipyard.storage.base import ArtifactStore, FileInfo, safe_key


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
