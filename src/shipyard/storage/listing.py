"""Bounded listings over any ``ArtifactStore`` (the quotas live here, not in backends)."""

from __future__ import annotations

import posixpath

from shipyard.errors import InvalidArgument, QuotaExceeded
from shipyard.storage.base import ArtifactStore, FileInfo, safe_key


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
