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
from shipyard.serving.backends.base import FeatureLookup, ModelSource
from shipyard.serving.predlog import PredictionLogger, lake_writer
from shipyard.serving.runtime import ServingRuntime
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
#: ``None`` sources mean the registry and the feature store.
RuntimeBuilder = Callable[
    [ModelSource | None, FeatureLookup | None, float, dict[str, Any]],
    tuple[ServingRuntime, PredictionLogger],
]


def build_runtime(
    *,
    deployments: CatalogDeployments,
    models: ModelSource,
    features: FeatureLookup,
    lake: Callable[[], LakeService],
    changes: ChangeFeed,
    check_canaries: Callable[[], None],
    log_interval: float,
    options: dict[str, Any],
) -> tuple[ServingRuntime, PredictionLogger]:
    """A runtime over these sources, logging predictions to the lake."""
    logger = PredictionLogger(lake_writer(lake), interval=log_interval)
    options.setdefault("watch", lambda: changes.fingerprint(("deployment",)))
    runtime = ServingRuntime(
        fetch=deployments.fetch,
        list_versions=deployments.versions,
        models=models,
        features=features,
        sink=logger,
        **options,
    )
    runtime.tick_hooks.append(check_canaries)
    return runtime, logger


class ServingRuntimes:
    """This platform's serving runtime (built on first use) and inference worker pool."""

    def __init__(self, build: RuntimeBuilder, workers: Shared[WorkerPool]) -> None:
        self._build = build
        self._workers = workers
        self._lock = threading.Lock()
        self._runtime: ServingRuntime | None = None
        self._logger: PredictionLogger | None = None
        self._retired: list[tuple[ServingRuntime, PredictionLogger]] = []

    def runtime(
        self,
        *,
        models: ModelSource | None = None,
        features: FeatureLookup | None = None,
        log_interval: float = 1.0,
        **options: Any,
    ) -> ServingRuntime:
        """The runtime, built on first use with the registry and feature store.

        ``models``/``features`` replace those sources (only before the runtime exists);
        ``log_interval`` is how often the inference log is flushed (0: only on ``flush``).
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
