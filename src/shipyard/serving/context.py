"""The per-process serving runtime, kept in ``ctx.extras`` and shared by every platform view."""

from __future__ import annotations

import os
import threading
from typing import Any

from shipyard._internal.service import ServiceContext
from shipyard.catalog.changes import feed_for
from shipyard.security.models import ALL_TEAMS, Principal, Role
from shipyard.serving.ports import FeatureLookup, ModelSource
from shipyard.serving.predlog import PredictionLogger, lake_writer
from shipyard.serving.runtime import ServingRuntime
from shipyard.serving.store import CatalogDeployments
from shipyard.serving.worker import WorkerOptions, WorkerPool

EXTRA_KEY = "serving"
WORKERS_KEY = "serving.workers"
LOG_KEY = "serving.log"
_lock = threading.Lock()

#: The identity the runtime loads models, reads features and writes logs as. Callers are
#: authorized at the serving boundary (``predict`` needs PREDICT on the deployment's team).
RUNTIME_PRINCIPAL = Principal(
    id="serving-runtime", name="serving-runtime", kind="service", roles={ALL_TEAMS: Role.EDITOR}
)


def runtime_for(
    ctx: ServiceContext,
    *,
    models: ModelSource | None = None,
    features: FeatureLookup | None = None,
    log_interval: float = 1.0,
    **options: Any,
) -> ServingRuntime:
    """This platform's runtime, built on first use with the registry and feature store.

    ``models``/``features`` replace those sources (only before the runtime exists);
    ``log_interval`` is how often the inference log is flushed (0: only on ``flush``).
    """
    runtime: ServingRuntime | None = ctx.extras.get(EXTRA_KEY)
    if runtime is not None:
        return runtime
    with _lock:
        runtime = ctx.extras.get(EXTRA_KEY)
        if runtime is not None:
            return runtime
        internal = ctx.for_principal(RUNTIME_PRINCIPAL)
        if models is None:
            from shipyard.serving.adapters import RegistryModelSource

            models = RegistryModelSource(internal)
        if features is None:
            from shipyard.serving.adapters import FeatureStoreLookup

            features = FeatureStoreLookup(internal)
        deployments = CatalogDeployments(internal)
        logger = PredictionLogger(lake_writer(internal), interval=log_interval)
        feed = feed_for(internal)
        options.setdefault("watch", lambda: feed.fingerprint(("deployment",)))
        runtime = ServingRuntime(
            fetch=deployments.fetch,
            list_versions=deployments.versions,
            models=models,
            features=features,
            sink=logger,
            **options,
        )
        runtime.tick_hooks.append(lambda: _check_canaries(internal))
        ctx.extras[LOG_KEY] = logger
        ctx.extras[EXTRA_KEY] = runtime
        closers = ctx.extras.setdefault("_closers", [])
        closers.append(runtime.close)  # stops shadow scoring first, then the last log flush
        closers.append(logger.close)
        return runtime


def workers_for(ctx: ServiceContext) -> WorkerPool:
    """This platform's inference worker processes (one per model version loaded)."""
    pool: WorkerPool | None = ctx.extras.get(WORKERS_KEY)
    if pool is not None:
        return pool
    with _lock:
        pool = ctx.extras.get(WORKERS_KEY)
        if pool is None:
            s = ctx.settings.serving
            pool = WorkerPool(
                WorkerOptions(
                    memory_mb=s.worker_memory_mb,
                    start_timeout=s.worker_start_timeout,
                    call_timeout=s.worker_call_timeout,
                    user=s.worker_user if os.geteuid() == 0 else None,
                )
            )
            ctx.extras[WORKERS_KEY] = pool
            ctx.extras.setdefault("_closers", []).append(pool.close)
        return pool


def logger_for(ctx: ServiceContext) -> PredictionLogger:
    """The inference log writer of this platform's runtime."""
    runtime_for(ctx)
    logger: PredictionLogger = ctx.extras[LOG_KEY]
    return logger


def _check_canaries(ctx: ServiceContext) -> None:
    from shipyard.serving.service import ServingService

    ServingService(ctx).check_canaries()
