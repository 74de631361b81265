"""The composition root: configuration -> backends -> services.

Nothing else constructs backends (``Backends.resolve`` builds them from the
settings) or services (each is built here with its collaborators passed to its
constructor). ``Platform.open()`` is the in-process SDK; ``shipyard.connect()``
gives the same service interfaces over HTTP.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard._internal.db import Database
from shipyard.backends import Backends
from shipyard.catalog.context import Service, ServiceContext
from shipyard.catalog.migrate import upgrade
from shipyard.catalog.service import CatalogService
from shipyard.config import Settings, load_settings
from shipyard.errors import BackendUnavailable, NotFound
from shipyard.governance.service import AuditService
from shipyard.security.models import ALL_TEAMS, Principal, Role
from shipyard.security.refusals import RefusalLimiter
from shipyard.security.service import SecurityService
from shipyard.security.store import ensure_principal, load_principal

if TYPE_CHECKING:
    from shipyard.backup.service import BackupService
    from shipyard.environments.service import EnvironmentService
    from shipyard.events.service import EventService
    from shipyard.features._base import FeatureState
    from shipyard.features.service import FeatureService
    from shipyard.lake._base import LakeState
    from shipyard.lake.service import LakeService
    from shipyard.lineage.service import LineageService
    from shipyard.monitoring.service import MonitoringService
    from shipyard.pipelines.pipeline_service import PipelineService
    from shipyard.pipelines.service import JobService
    from shipyard.pipelines.worker import Worker
    from shipyard.platform_code.service import PlatformCodeService
    from shipyard.quotas.gate import QuotaGate
    from shipyard.quotas.service import QuotaService
    from shipyard.registry.service import RegistryService, RegistryState
    from shipyard.serving.context import ServingRuntimes
    from shipyard.serving.ports import FeatureLookup, ModelSource
    from shipyard.serving.predlog import PredictionLogger
    from shipyard.serving.runtime import ServingRuntime
    from shipyard.serving.service import ServingService
    from shipyard.tracking.service import TrackingService, TrackingState
    from shipyard.training.service import TrainingService
    from shipyard.usage.service import UsageService
    from shipyard.vectors.service import VectorService, VectorState

LOCAL_ADMIN = "local-admin"


#: A capability service (``_submits``).
S = TypeVar("S", bound="Service")


class Platform:
    """One Shipyard project: its settings, backends and services, acting for one principal.

    Example:
        >>> platform = Platform.open(".")
        >>> platform.catalog.search("orders").items
    """

    def __init__(
        self, ctx: ServiceContext, backends: Backends, *, _root: Platform | None = None
    ) -> None:
        self._ctx = ctx
        self._backends = backends
        self._root = _root or self
        #: What services keep per platform, shared by every principal's view.
        self._state: _State = _root._state if _root is not None else _State()
        self._views: dict[str, Platform] = {}
        self._views_lock = threading.Lock()

    # -- construction -------------------------------------------------------------

    @classmethod
    def open(
        cls, path: str | Path = ".", *, principal: str | None = None, **overrides: Any
    ) -> Platform:
        """Open (and on first use, initialise) the project at ``path``.

        Args:
            path: the project folder (holds ``shipyard.yaml``; home defaults to ``.shipyard/``).
            principal: act as this principal instead of ``security.sdk_principal``.
            overrides: settings that win over the file and the environment.

        Raises:
            ConfigError: an unknown or invalid setting (names the key and the file).
            BackendUnavailable: the metadata database cannot be reached (URL masked).
        """
        return cls.from_settings(load_settings(path, **overrides), principal=principal)

    @classmethod
    def from_settings(cls, settings: Settings, *, principal: str | None = None) -> Platform:
        """Open the project ``settings`` describe (``open`` after reading them)."""
        settings.home_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.catalog_url, busy_timeout=settings.catalog.busy_timeout)
        try:
            if settings.catalog_schema is not None:
                db.ensure_schema(settings.catalog_schema)
            upgrade(db)
        except BackendUnavailable:
            raise
        except Exception as exc:
            if _looks_unreachable(exc):
                raise BackendUnavailable(
                    f"metadata database {db.masked_url} is unavailable: {str(exc).splitlines()[0]}",
                    url=db.masked_url,
                ) from None
            raise
        wanted = principal or settings.security.sdk_principal
        # Read first: opening a project must not queue behind a long writer.
        with db.connect() as conn:
            acting = load_principal(conn, wanted)
        if acting is None or (wanted == LOCAL_ADMIN and not acting.is_admin):
            if wanted != LOCAL_ADMIN:
                raise NotFound(f"no principal named '{wanted}'", name=wanted)
            with db.begin() as conn:
                acting = ensure_principal(
                    conn, LOCAL_ADMIN, kind="user", team=ALL_TEAMS, role=Role.ADMIN
                )
        backends = Backends.resolve(settings, db)
        from shipyard.events.lifecycle import Lifecycle, LifecycleAudit
        from shipyard.events.relay import OutboxRelay

        lifecycle = Lifecycle(
            backends.event_bus, backends.catalog, OutboxRelay(db, backends.event_bus)
        )
        ctx = ServiceContext(
            settings=settings,
            db=db,
            catalog=backends.catalog,
            # audited changes that are lifecycle events publish them in their transaction
            audit=LifecycleAudit(backends.audit, lifecycle),
            principal=acting,
            observer=_lineage_observer(settings, db, backends),
        )
        return cls(ctx, backends)

    def as_principal(self, principal: Principal) -> Platform:
        """The same platform acting for ``principal`` (what the HTTP API does per request)."""
        root = self._root
        key = f"{principal.id}:{sorted(principal.roles.items())}"
        with root._views_lock:
            view = root._views.get(key)
            if view is None:
                if len(root._views) > 1024:
                    root._views.clear()
                view = Platform(root._ctx.for_principal(principal), root._backends, _root=root)
                root._views[key] = view
        return view

    def close(self) -> None:
        """Stop what the services started, then close the backends (the root's, for a view)."""
        root = self._root
        root._state.close()
        root._backends.close()
        root._ctx.db.dispose()

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what it is -----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._ctx.settings

    @property
    def principal(self) -> Principal:
        return self._ctx.principal

    @property
    def context(self) -> ServiceContext:
        return self._ctx

    @property
    def backends(self) -> Backends:
        return self._backends

    # -- services ---------------------------------------------------------------------
    # Each is built once per view with its collaborators; a collaborator that is only
    # sometimes needed (or that would close a circle) is passed as a provider, so a
    # request that predicts builds no lake, registry or tracking service.

    @cached_property
    def catalog(self) -> CatalogService:
        return CatalogService(self._ctx)

    @cached_property
    def security(self) -> SecurityService:
        return SecurityService(self._ctx, refusals=self._state.refusals)

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self._ctx, log=self._backends.audit)

    @cached_property
    def lake(self) -> LakeService:
        from shipyard.lake.service import LakeService

        b = self._backends
        lake = LakeService(
            self._ctx,
            storage=b.lake_storage,
            pending=b.lake_pending,
            state=self._state.lake,
            quotas=lambda: self.quotas,
        )
        return self._submits(lake)

    @cached_property
    def features(self) -> FeatureService:
        from shipyard.features.service import FeatureService

        b = self._backends
        features = FeatureService(
            self._ctx,
            lake=lambda: self.lake,
            online=b.online_store,
            changes=b.changes,
            state=self._state.features,
            quotas=lambda: self.quotas,
            materialized=self._follow_view,
        )
        return self._submits(features)

    def _submits(self, service: S) -> S:
        """``service`` with ``submit=True`` queueing its long operations as this caller."""
        service._submitter = lambda action, params: self.jobs.submit_action(action, params)
        return service

    def _follow_view(self, view: str) -> None:
        """After ``view`` is materialized: update the vector indexes over it (issue #18)."""
        self.vectors.follow_view(view)

    @cached_property
    def tracking(self) -> TrackingService:
        from shipyard.tracking.service import TrackingService

        return TrackingService(
            self._ctx,
            artifacts=self._backends.artifacts,
            state=self._state.tracking,
            registry=lambda: self.registry,
        )

    @cached_property
    def registry(self) -> RegistryService:
        from shipyard.registry.service import RegistryService

        return RegistryService(
            self._ctx,
            artifacts=self._backends.artifacts,
            state=self._state.registry,
            on_register=lambda name, version: self.monitoring.profile_on_register(name, version),
        )

    @cached_property
    def serving(self) -> ServingService:
        from shipyard.serving.context import RUNTIME_PRINCIPAL
        from shipyard.serving.service import ServingService

        serving = ServingService(
            self._ctx,
            runtimes=self._serving_runtimes,
            lake=lambda: self.lake,
            registry=lambda: self.registry,
            tracking=lambda: self.tracking,
            events=lambda: self.events,
            log_lake=lambda: self._root.as_principal(RUNTIME_PRINCIPAL).lake,
            quotas=lambda: self.quotas,
            vectors=lambda: self.vectors,
        )
        return self._submits(serving)

    @cached_property
    def monitoring(self) -> MonitoringService:
        from shipyard.monitoring.service import MONITOR_PRINCIPAL, MonitoringService

        return MonitoringService(
            self._ctx,
            lake=lambda: self.lake,
            registry=lambda: self.registry,
            serving=lambda: self.serving,
            features=lambda: self.features,
            events=lambda: self.events,
            internal=lambda: self._root.as_principal(MONITOR_PRINCIPAL).monitoring,
        )

    @cached_property
    def events(self) -> EventService:
        from shipyard.events.service import EventService

        return EventService(
            self._ctx,
            bus=self._backends.event_bus,
            lake=lambda: self.lake,
            features=lambda: self.features,
        )

    @cached_property
    def jobs(self) -> JobService:
        from shipyard.events.lifecycle import LifecycleAudit
        from shipyard.operations import operation_team
        from shipyard.pipelines.service import JobService

        audit = self._ctx.audit  # ``open`` wraps it: finished jobs are lifecycle events
        return JobService(
            self._ctx,
            queue=self._backends.job_queue,
            operation_team=lambda action, params: operation_team(self, action, params),
            quotas=lambda: self.quotas,
            lifecycle=audit.lifecycle if isinstance(audit, LifecycleAudit) else None,
            periodic_kinds=lambda: self.pipelines.periodic_kinds,
        )

    def worker(self, **options: Any) -> Worker:
        """A job worker on this platform's queue, metering into ``usage`` and sending
        OpenLineage run events when ``lineage.transport`` is set (options: ``Worker``'s)."""
        from shipyard.pipelines.worker import Worker

        return Worker(self, observer=self._ctx.observer, usage=self.usage, **options)

    @cached_property
    def pipelines(self) -> PipelineService:
        from shipyard.events.lifecycle import LifecycleAudit
        from shipyard.monitoring.slo_jobs import slo_checks
        from shipyard.pipelines.materialize_jobs import materializations
        from shipyard.pipelines.pipeline_service import PipelineService
        from shipyard.pipelines.retention import prune_source
        from shipyard.serving.canary_jobs import canary_checks
        from shipyard.serving.log_jobs import log_flushes

        settings = self._ctx.settings
        audit = self._ctx.audit
        return PipelineService(
            self._ctx,
            queue=self._backends.job_queue,
            events=lambda: self.events,
            periodic=[
                canary_checks(self._root.context, settings.serving.canary_check_seconds),
                slo_checks(self._root.context, settings.monitoring.slo_check_seconds),
                log_flushes(self._root.context, settings.serving.log_compact_seconds),
                materializations(self._root.context),
                prune_source(self._root.context, settings.jobs.prune_seconds),
            ],
            # each scheduler pass re-publishes lifecycle events left in the outbox
            relay=audit.lifecycle.relay.relay_pending
            if isinstance(audit, LifecycleAudit)
            else None,
        )

    @cached_property
    def training(self) -> TrainingService:
        from shipyard.training.service import TrainingService

        return TrainingService(
            self._ctx,
            jobs=self.jobs,
            tracking=self.tracking,
            features=lambda: self.features,
            lake=lambda: self.lake,
            registry=lambda: self.registry,
        )

    @cached_property
    def vectors(self) -> VectorService:
        from shipyard.vectors.service import VectorService

        b = self._backends
        return VectorService(
            self._ctx,
            lake=self.lake,
            changes=b.changes,
            open_index=b.vector_index,
            state=self._state.vectors,
        )

    @cached_property
    def quotas(self) -> QuotaService:
        from shipyard.quotas.probes import probes
        from shipyard.quotas.service import QuotaService

        online = self._backends.online_store
        return QuotaService(self._ctx, gate=self.quota_gate, probes=lambda: probes(online.get))

    @cached_property
    def platform_code(self) -> PlatformCodeService:
        """``shipyard plan``/``apply`` over every resource kind (ADR 0027)."""
        from shipyard.platform_code.service import PlatformCodeService

        return PlatformCodeService(
            self._ctx,
            security=lambda: self.security,
            quotas=lambda: self.quotas,
            lake=lambda: self.lake,
            features=lambda: self.features,
            pipelines=lambda: self.pipelines,
            serving=lambda: self.serving,
            registry=lambda: self.registry,
            vectors=lambda: self.vectors,
        )

    @cached_property
    def usage(self) -> UsageService:
        from shipyard.usage.service import USAGE_PRINCIPAL, UsageService

        b = self._backends
        return UsageService(
            self._ctx,
            lake=lambda: self._root.as_principal(USAGE_PRINCIPAL).lake,
            artifacts=b.artifacts.get,
            online=b.online_store.get,
        )

    @property
    def quota_gate(self) -> QuotaGate:
        """The request-path quota check, one per platform (every view shares it)."""
        state = self._state
        if state.quota_gate is None:
            from shipyard.quotas.gate import QuotaGate

            with state.lock:
                if state.quota_gate is None:
                    q = self.settings.quotas
                    state.quota_gate = QuotaGate(
                        self._ctx.db,
                        self._backends.audit,
                        self._backends.rate_limiter.get(),
                        cache_seconds=q.cache_seconds,
                        audit_window=q.audit_window_seconds,
                        retry_after=q.retry_after_seconds,
                    )
        return state.quota_gate

    @cached_property
    def backup(self) -> BackupService:
        from shipyard.backup.archive import Archive
        from shipyard.backup.service import BackupService

        b = self._backends
        return BackupService(
            self._ctx, artifacts=b.artifacts, archive=lambda: Archive(b.backups.get())
        )

    @cached_property
    def environments(self) -> EnvironmentService:
        from shipyard.environments.service import EnvironmentService

        return EnvironmentService(self._ctx, here=lambda: self, open_env=self._root._environment)

    def _environment(self, name: str, principal: str) -> Platform:
        """Environment ``name`` of this project acting for ``principal`` (opened once, kept)."""
        state = self._state
        with state.lock:
            other: Platform | None = self if name == self.settings.environment else None
            if other is None:
                other = state.siblings.get(name)
                if other is None:
                    # a handle only: every call below acts as the looked-up principal
                    other = Platform.from_settings(
                        self.settings.for_environment(name), principal=LOCAL_ADMIN
                    )
                    state.siblings[name] = other
        with other._ctx.db.connect() as conn:
            acting = load_principal(conn, principal)
        if acting is None:
            raise NotFound(f"no principal named '{principal}'", name=principal)
        return other.as_principal(acting)

    @cached_property
    def lineage(self) -> LineageService:
        from shipyard.lineage.service import LineageService

        return LineageService(self._ctx)

    # -- the serving runtime (one per process) ------------------------------------------

    @property
    def _serving_runtimes(self) -> ServingRuntimes:
        state = self._state
        if state.serving is None:
            from shipyard.serving.context import RUNTIME_PRINCIPAL, ServingRuntimes
            from shipyard.serving.spool import PredictionSpool

            with state.lock:
                if state.serving is None:
                    root = self._root
                    state.serving = ServingRuntimes(
                        root._build_serving_runtime,
                        root._backends.inference_workers,
                        PredictionSpool(root._ctx.db),
                        lambda: root.as_principal(RUNTIME_PRINCIPAL).lake,
                    )
        return state.serving

    def _build_serving_runtime(
        self,
        models: ModelSource | None,
        features: FeatureLookup | None,
        log_interval: float | None,
        options: dict[str, Any],
    ) -> tuple[ServingRuntime, PredictionLogger]:
        """The runtime acts as ``RUNTIME_PRINCIPAL``: its services are that view's."""
        from shipyard.serving.adapters import FeatureStoreLookup, RegistryModelSource
        from shipyard.serving.context import RUNTIME_PRINCIPAL, build_runtime
        from shipyard.serving.neighbors import VectorNeighborLookup
        from shipyard.serving.store import CatalogDeployments

        internal = self._root.as_principal(RUNTIME_PRINCIPAL)
        workers = self._backends.inference_workers
        if log_interval is None:
            log_interval = self.settings.serving.log_flush_seconds

        return build_runtime(
            deployments=CatalogDeployments(internal.context),
            models=models or RegistryModelSource(internal.registry, workers.get),
            features=features or FeatureStoreLookup(internal.features),
            neighbors=VectorNeighborLookup(lambda: internal.vectors, lambda: internal.lake),
            spool=self._serving_runtimes.spool,
            changes=self._backends.changes.get(),
            log_interval=log_interval,
            options=options,
        )


class _State:
    """What services keep per platform (caches, registered functions, the serving runtime).

    Each part is made on first use, so opening a project imports no capability it does
    not use; the lock makes every view of a platform get the same part.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.refusals = RefusalLimiter()
        self.serving: ServingRuntimes | None = None
        self.quota_gate: QuotaGate | None = None
        self._lake: LakeState | None = None
        self._features: FeatureState | None = None
        self._tracking: TrackingState | None = None
        self._registry: RegistryState | None = None
        self._vectors: VectorState | None = None
        #: The project's other environments, opened by a promotion (closed with this one).
        self.siblings: dict[str, Platform] = {}

    @property
    def lake(self) -> LakeState:
        if self._lake is None:
            from shipyard.lake._base import LakeState

            with self.lock:
                self._lake = self._lake or LakeState()
        return self._lake

    @property
    def features(self) -> FeatureState:
        if self._features is None:
            from shipyard.features._base import FeatureState

            with self.lock:
                self._features = self._features or FeatureState()
        return self._features

    @property
    def tracking(self) -> TrackingState:
        if self._tracking is None:
            from shipyard.tracking.service import TrackingState

            with self.lock:
                self._tracking = self._tracking or TrackingState()
        return self._tracking

    @property
    def registry(self) -> RegistryState:
        if self._registry is None:
            from shipyard.registry.service import RegistryState

            with self.lock:
                self._registry = self._registry or RegistryState()
        return self._registry

    @property
    def vectors(self) -> VectorState:
        if self._vectors is None:
            from shipyard.vectors.service import VectorState

            with self.lock:
                self._vectors = self._vectors or VectorState()
        return self._vectors

    def close(self) -> None:
        for sibling in self.siblings.values():
            sibling.close()
        self.siblings.clear()
        if self.serving is not None:
            self.serving.close()  # stops shadow scoring, then the last log flush
        if self._vectors is not None:
            self._vectors.close()
        if self._tracking is not None:
            self._tracking.close()


def _lineage_observer(settings: Settings, db: Database, backends: Backends) -> Any:
    """OpenLineage events from audited changes, when ``lineage.transport`` is set."""
    if backends.lineage is None:
        return None
    from shipyard.lineage.observer import LineageObserver

    namespace = settings.lineage.namespace or f"shipyard://{settings.project}"
    return LineageObserver(backends.lineage, db, backends.catalog, namespace)


def _looks_unreachable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("connection", "could not connect", "unable to open", "refused"))
