"""The backend resolver: settings -> one typed set of backends for a platform.

``Platform`` asks this module, and only this module, to build backends; every
seam is chosen by configuration (``<seam>.backend``). Backends that connect to
something (NATS, Redis, PostgreSQL, S3) are ``Shared`` cells, built on first
use and closed with the platform, so opening a project stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipyard._internal.shared import Shared
from shipyard.catalog.changes import ChangeFeed
from shipyard.catalog.store import SqlCatalogStore
from shipyard.errors import InvalidArgument
from shipyard.governance.audit import SqlAuditLog

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.config import Settings
    from shipyard.events.backends.base import EventBus
    from shipyard.features.backends.base import OnlineStore
    from shipyard.lake.pending import PendingWrites
    from shipyard.lake.storage import LakeStorage
    from shipyard.lineage.emitter import LineageEmitter
    from shipyard.pipelines.backends.base import JobQueue
    from shipyard.quotas.backends.base import RateLimiter
    from shipyard.serving.worker import WorkerPool
    from shipyard.storage import ArtifactStore
    from shipyard.vectors.backends.base import VectorIndex
    from shipyard.vectors.models import VectorIndexSpec


@dataclass(frozen=True)
class Backends:
    """Every backend of one platform (one per seam), shared by all its principals' views."""

    settings: Settings
    #: The metadata database (SQLite or PostgreSQL): catalog, audit, tracking, registry, ...
    db: Database
    catalog: SqlCatalogStore
    audit: SqlAuditLog
    #: Tells whether any process changed catalog assets of some kinds (caches ask it).
    changes: Shared[ChangeFeed]
    artifacts: Shared[ArtifactStore]
    lake_storage: Shared[LakeStorage]
    lake_pending: Shared[PendingWrites]
    online_store: Shared[OnlineStore]
    event_bus: Shared[EventBus]
    job_queue: Shared[JobQueue]
    inference_workers: Shared[WorkerPool]
    #: Opens the index of one spec in the configured vector backend.
    vector_index: Callable[[VectorIndexSpec], VectorIndex]
    #: Counts API requests against rate quotas (``quotas.rate_storage``).
    rate_limiter: Shared[RateLimiter]
    #: Where restore points are written (``backup.root``: a folder or ``s3://``).
    backups: Shared[ArtifactStore]
    #: Where OpenLineage run events go (None: ``lineage.transport`` is "none").
    lineage: LineageEmitter | None = None

    @classmethod
    def resolve(cls, settings: Settings, db: Database) -> Backends:
        """The backends ``settings`` name (none connects before it is first used)."""
        return cls(
            settings=settings,
            db=db,
            catalog=SqlCatalogStore(),
            audit=SqlAuditLog(),
            changes=Shared(lambda: ChangeFeed(db), ChangeFeed.close),
            artifacts=Shared(lambda: _artifact_store(settings)),
            lake_storage=Shared(lambda: _lake_storage(settings)),
            lake_pending=Shared(lambda: _lake_pending(settings)),
            online_store=Shared(lambda: _online_store(settings), _close),
            event_bus=Shared(lambda: _event_bus(settings, db), _close),
            job_queue=Shared(lambda: _job_queue(settings, db), _close),
            inference_workers=Shared(lambda: _inference_workers(settings), _close),
            vector_index=_vector_opener(settings),
            rate_limiter=Shared(lambda: _rate_limiter(settings), _close),
            backups=Shared(lambda: _backup_store(settings)),
            lineage=_lineage(settings),
        )

    def close(self) -> None:
        """Close what was built, the users of a backend before the backend."""
        for cell in (
            self.inference_workers,
            self.job_queue,
            self.event_bus,
            self.online_store,
            self.changes,
            self.rate_limiter,
        ):
            cell.close()
        if self.lineage is not None:
            self.lineage.close()


def _close(backend: object) -> None:
    close = getattr(backend, "close", None)
    if close is not None:
        close()


def _artifact_store(settings: Settings) -> ArtifactStore:
    from shipyard.storage import open_artifact_store

    options = getattr(settings.artifacts, "storage_options", None) or {}
    return open_artifact_store(settings.artifact_root, options)


def _rate_limiter(settings: Settings) -> RateLimiter:
    from shipyard.quotas.backends.limits_backend import create_rate_limiter

    return create_rate_limiter(
        settings.quotas.rate_storage,
        prefix=f"shipyard:{settings.project or 'default'}",
        lease_seconds=settings.quotas.rate_lease_seconds,
    )


def _lineage(settings: Settings) -> LineageEmitter | None:
    if settings.lineage.transport == "none":
        return None
    from shipyard.lineage.emitter import build_emitter

    return build_emitter(settings)


def _backup_store(settings: Settings) -> ArtifactStore:
    from shipyard.storage import open_artifact_store

    return open_artifact_store(settings.backup_root, settings.backup.storage_options)


def _lake_storage(settings: Settings) -> LakeStorage:
    from shipyard.lake.storage import DeltaStorage

    return DeltaStorage(settings.lake_root, settings.lake.storage_options)


def _lake_pending(settings: Settings) -> PendingWrites:
    from shipyard.lake.pending import PendingWrites

    return PendingWrites(settings.home_dir / "lake-pending")


def _online_store(settings: Settings) -> OnlineStore:
    from shipyard.features.backends.base import create_online_store

    return create_online_store(settings)


def _event_bus(settings: Settings, db: Database) -> EventBus:
    from shipyard.events.service import build_bus

    return build_bus(settings, db)


def _job_queue(settings: Settings, db: Database) -> JobQueue:
    from shipyard.pipelines.backends.sql import SqlJobQueue

    cfg = settings.jobs
    return SqlJobQueue(
        db, pool_limits=cfg.pool_limits, team_limits=cfg.team_limits, notify=cfg.notify
    )


def _inference_workers(settings: Settings) -> WorkerPool:
    from shipyard.serving.worker import WorkerOptions, WorkerPool

    s = settings.serving
    return WorkerPool(
        WorkerOptions(
            memory_mb=s.worker_memory_mb,
            start_timeout=s.worker_start_timeout,
            call_timeout=s.worker_call_timeout,
            user=s.worker_user if os.geteuid() == 0 else None,
        )
    )


def _vector_opener(settings: Settings) -> Callable[[VectorIndexSpec], VectorIndex]:
    """Opens indexes of the configured backend (one S3 client shared by every index)."""
    files = Shared(lambda: _vector_files(settings))
    return lambda spec: _vector_index(settings, spec, files)


def _vector_files(settings: Settings) -> ArtifactStore | None:
    """The store of an ``s3://`` embedded-index root (``None``: a local folder)."""
    root, options = settings.vectors_root
    if "://" not in root:
        return None
    from shipyard.storage import open_artifact_store

    return open_artifact_store(root, options)


def _vector_index(
    settings: Settings, spec: VectorIndexSpec, files: Shared[ArtifactStore | None]
) -> VectorIndex:
    if settings.vectors.backend == "embedded":
        from shipyard.vectors.backends.faiss_hnsw import FaissIndex
        from shipyard.vectors.backends.files import StoreIndexFiles

        store = files.get()
        if store is None:  # a folder; a relative one is under the project
            folder = settings.project_dir / settings.vectors_root[0]
            return FaissIndex(spec, folder / f"{spec.name}.npz")
        return FaissIndex(spec, StoreIndexFiles(store, spec.name))
    if settings.vectors.backend == "pgvector":
        from shipyard.vectors.backends.pgvector import PgVectorIndex

        return PgVectorIndex(spec, settings.vectors_url)
    raise InvalidArgument(f"unknown vectors.backend '{settings.vectors.backend}'")
