"""Moved to ``shipyard.storage`` (the artifact store is not tracking's own seam).

Kept as a re-export for callers not yet updated (the remote client); new code
imports from ``shipyard.storage``.
"""

from __future__ import annotations

from shipyard.storage import (
    MAX_SEGMENT_BYTES,
    ArtifactStore,
    LocalArtifactStore,
    list_dir,
    open_artifact_store,
    safe_key,
    walk_files,
)

__all__ = [
    "MAX_SEGMENT_BYTES",
    "ArtifactStore",
    "LocalArtifactStore",
    "list_dir",
    "open_artifact_store",
    "safe_key",
    "walk_files",
]
