"""The object-storage seam: the artifact store of runs and models.

``ArtifactStore`` (``base.py``) is the interface; ``LocalArtifactStore`` (a folder,
the embedded default) and ``S3ArtifactStore`` (S3-compatible storage, boto3
imported lazily) implement it. ``tests/contract/artifacts`` runs on both.
"""

from __future__ import annotations

from shipyard.errors import InvalidArgument
from shipyard.storage.base import MAX_SEGMENT_BYTES, ArtifactStore, FileInfo, safe_key
from shipyard.storage.listing import list_dir, walk_files
from shipyard.storage.local import LocalArtifactStore

__all__ = [
    "MAX_SEGMENT_BYTES",
    "ArtifactStore",
    "FileInfo",
    "LocalArtifactStore",
    "list_dir",
    "open_artifact_store",
    "safe_key",
    "walk_files",
]


def open_artifact_store(root: str, storage_options: dict[str, str] | None = None) -> ArtifactStore:
    """The store for ``root``: a folder, or ``s3://bucket/prefix``.

    Raises:
        InvalidArgument: another URI scheme, or an unknown S3 storage option.
        BackendUnavailable: an S3 root without boto3 installed.
    """
    if root.startswith("s3://"):
        from shipyard.storage.s3 import S3ArtifactStore

        return S3ArtifactStore(root, storage_options or {})
    if "://" in root:
        raise InvalidArgument(
            f"unsupported artifact root '{root}' (a folder or s3://bucket/prefix)", root=root
        )
    return LocalArtifactStore(root)
