"""The per-process serving runtime, inference log and worker pool, shared by every platform view.

``Platform`` builds one ``ServingRuntimes`` and hands it to every ``ServingService``;
the runtime itself is built on first use, as ``RUNTIME_PRINCIPAL``, from collaborators
the platform passes in (``build_runtime``), so nothing here constructs a service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.security.models import ALL_TEAMS, Principal, Role
from shipyard.serving.ports import FeatureLookup, ModelSource, NeighborLookup
from shipyard.serving.predlog import PredictionLogger, lake_writer
from shipyard.serving.runtime import ServingRuntime
from shipyard.serving.spool import PredictionSpool
from shipyard.serving.store import CatalogDeployments
from shipyard.serving.worker import WorkerPool

if TYPE_CHECKING:
    from shipyard._internal.shared import Shared
    from shipyard.catalog.changes import ChangeFeed
    from shipyard.lake.service import LakeService
    from shipyard.serving.service import ServingService

#: The identity the runtime loads models, reads features and writes logs as. Callers are
#: authorized at the serving boundary (``predict`` needs PREDICT on the deployment's team).
RUNTIME_PRINCIPAL = Principal(
    id="serving-runtime", name="serving-runtime", kind="service", roles={ALL_TEAMS: Role.EDITOR}
)

#: Builds the runtime and its log writer: ``(models, features, log_interval, options)``;
#: ``None`` sources mean the registry and the feature store, a ``None`` interval the
#: ``serving.log_flush_seconds`` setting.
RuntimeBuilder = Callable[
    [ModelSource | None, FeatureLookup | None, float | None, dict[str, Any]],
    tuple[ServingRuntime, PredictionLogger],
]


def build_runtime(
    *,
    deployments: CatalogDeployments,
    models: ModelSource,
    features: FeatureLookup,
    neighbors: NeighborLookup | None = None,
    spool: PredictionSpool,
    changes: ChangeFeed,
    log_interval: float,
    options: dict[str, Any],
) -> tuple[ServingRuntime, PredictionLogger]:
    """A runtime over these sources, spooling its predictions for the inference log."""
    logger = PredictionLogger(spool.put, interval=log_interval)
    options.setdefault("watch", lambda: changes.fingerprint(("deployment",)))
    runtime = ServingRuntime(
        fetch=deployments.fetch,
        list_versions=deployments.versions,
        models=models,
        features=features,
        neighbors=neighbors,
        sink=logger,
        **options,
    )
    return runtime, logger


class ServingRuntimes:
    """This platform's serving runtime (built on first use), inference worker pool and
    prediction spool."""

    def __init__(
        self,
        build: RuntimeBuilder,
        workers: Shared[WorkerPool],
        spool: PredictionSpool,
        log_lake: Callable[[], LakeService],
    ) -> None:
        self._build = build
        self._workers = workers
        #: Where every server process of the project leaves its predictions (ADR 0052).
        self.spool = spool
        self._log_write = lake_writer(log_lake)
        self._lock = threading.Lock()
        self._runtime: ServingRuntime | None = None
        self._logger: PredictionLogger | None = None
        self._retired: list[tuple[ServingRuntime, PredictionLogger]] = []

    def runtime(
        self,
        *,
        models: ModelSource | None = None,
        features: FeatureLookup | None = None,
        log_interval: float | None = None,
        **options: Any,
    ) -> ServingRuntime:
        """The runtime, built on first use with the registry and feature store.

        ``models``/``features`` replace those sources (only before the runtime exists);
        ``log_interval`` is how often the inference log is flushed (0: only on ``flush``;
        default: the ``serving.log_flush_seconds`` setting).
        """
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None:
                self._runtime, self._logger = self._build(models, features, log_interval, options)
            return self._runtime

    def logger(self) -> PredictionLogger:
        """The inference log writer of the runtime."""
        self.runtime()
        assert self._logger is not None
        return self._logger

    def built(self) -> tuple[ServingRuntime, PredictionLogger] | None:
        """The runtime and its log writer if this process has served, else ``None``
        (what ``/metrics`` and readiness read: they must not start one)."""
        runtime, logger = self._runtime, self._logger
        return (runtime, logger) if runtime is not None and logger is not None else None

    def flush_log(self, *, wait: float = 2.0) -> int:
        """Spool this process's buffer, then move every process's spooled predictions
        into the inference log; returns the rows moved (ADR 0052).

        What the scheduled flush job runs, and what readers of the log call first so
        they see the latest rows. A flush that another holds for longer than ``wait``
        seconds is left to it (0).
        """
        built = self.built()  # a process that never served starts no runtime here
        if built is not None:
            built[1].flush()
        return self.spool.flush(self._log_write, wait=wait)

    def worker_pids(self) -> list[int]:
        """Process ids of the inference workers started so far (none started: ``[]``)."""
        return self._workers.get().pids() if self._workers.built else []

    def drain(self, timeout: float = 30.0) -> int:
        """At shutdown: score queued shadow requests, then write the whole inference log.

        Does nothing (0) when this process never served; returns the rows written.
        """
        with self._lock:
            held = list(self._retired)
            if self._runtime is not None and self._logger is not None:
                held.append((self._runtime, self._logger))
        rows = 0
        for runtime, logger in held:
            runtime.drain_shadow(timeout=5.0)
            rows += logger.drain(timeout)
        return rows

    def workers(self) -> WorkerPool:
        """The inference worker processes (one per model version loaded)."""
        return self._workers.get()

    def reset(self) -> None:
        """Build the runtime anew on next use (the old one is closed with the platform)."""
        with self._lock:
            if self._runtime is not None and self._logger is not None:
                self._retired.append((self._runtime, self._logger))
            self._runtime = self._logger = None

    def close(self) -> None:
        self.reset()
        for runtime, logger in self._retired:
            runtime.close()  # stops shadow scoring first, then the last log flush
            logger.close()
        self._retired = []
        self._workers.close()


# -- what tests and the inference server reach through a platform's serving service --------


def runtime_for(serving: ServingService, **options: Any) -> ServingRuntime:
    """``serving``'s runtime (see ``ServingRuntimes.runtime`` for the options)."""
    return serving.runtimes.runtime(**options)


def workers_for(serving: ServingService) -> WorkerPool:
    return serving.runtimes.workers()


def logger_for(serving: ServingService) -> PredictionLogger:
    return serving.runtimes.logger()
