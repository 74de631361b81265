"""The composition root: configuration -> backends -> services.

Nothing else constructs backends. ``Platform.open()`` is the in-process SDK;
``shipyard.connect()`` gives the same service interfaces over HTTP.
"""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard._internal.db import Database
from shipyard._internal.service import ServiceContext
from shipyard.catalog.migrate import upgrade
from shipyard.catalog.service import CatalogService
from shipyard.catalog.store import SqlCatalogStore
from shipyard.config import Settings, load_settings
from shipyard.errors import BackendUnavailable, NotFound
from shipyard.governance.audit import SqlAuditLog
from shipyard.governance.service import AuditService
from shipyard.security.models import ALL_TEAMS, Principal, Role
from shipyard.security.service import SecurityService, ensure_principal, load_principal

if TYPE_CHECKING:
    from shipyard.events.service import EventService
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService
    from shipyard.monitoring.service import MonitoringService
    from shipyard.pipelines.service import JobService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.service import ServingService
    from shipyard.tracking.service import TrackingService
    from shipyard.vectors.service import VectorService

LOCAL_ADMIN = "local-admin"


class Platform:
    """One Shipyard project: its settings, backends and services, acting for one principal.

    Example:
        >>> platform = Platform.open(".")
        >>> platform.catalog.search("orders").items
    """

    def __init__(self, ctx: ServiceContext, *, _root: Platform | None = None) -> None:
        self._ctx = ctx
        self._root = _root or self
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
        settings = load_settings(path, **overrides)
        settings.home_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.catalog_url, busy_timeout=settings.catalog.busy_timeout)
        try:
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
        ctx = ServiceContext(
            settings=settings,
            db=db,
            catalog=SqlCatalogStore(),
            audit=SqlAuditLog(),
            principal=acting,
        )
        return cls(ctx)

    def as_principal(self, principal: Principal) -> Platform:
        """The same platform acting for ``principal`` (what the HTTP API does per request)."""
        root = self._root
        key = f"{principal.id}:{sorted(principal.roles.items())}"
        with root._views_lock:
            view = root._views.get(key)
            if view is None:
                if len(root._views) > 1024:
                    root._views.clear()
                view = Platform(root._ctx.for_principal(principal), _root=root)
                root._views[key] = view
        return view

    def close(self) -> None:
        for closer in self._ctx.extras.pop("_closers", []):
            closer()
        self._ctx.db.dispose()

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

    # -- services ---------------------------------------------------------------------

    @cached_property
    def catalog(self) -> CatalogService:
        return CatalogService(self._ctx)

    @cached_property
    def security(self) -> SecurityService:
        return SecurityService(self._ctx)

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self._ctx)

    @cached_property
    def lake(self) -> LakeService:
        from shipyard.lake.service import LakeService

        return LakeService(self._ctx)

    @cached_property
    def features(self) -> FeatureService:
        from shipyard.features.service import FeatureService

        return FeatureService(self._ctx)

    @cached_property
    def tracking(self) -> TrackingService:
        from shipyard.tracking.service import TrackingService

        return TrackingService(self._ctx)

    @cached_property
    def registry(self) -> RegistryService:
        from shipyard.registry.service import RegistryService

        return RegistryService(self._ctx)

    @cached_property
    def serving(self) -> ServingService:
        from shipyard.serving.service import ServingService

        return ServingService(self._ctx)

    @cached_property
    def monitoring(self) -> MonitoringService:
        from shipyard.monitoring.service import MonitoringService

        return MonitoringService(self._ctx)

    @cached_property
    def events(self) -> EventService:
        from shipyard.events.service import EventService

        return EventService(self._ctx)

    @cached_property
    def jobs(self) -> JobService:
        from shipyard.pipelines.service import JobService

        return JobService(self._ctx)

    @cached_property
    def vectors(self) -> VectorService:
        from shipyard.vectors.service import VectorService

        return VectorService(self._ctx)


def _looks_unreachable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("connection", "could not connect", "unable to open", "refused"))
