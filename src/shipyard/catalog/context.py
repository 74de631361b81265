"""What a capability service gets: the kernel (caller, database, audit) plus the catalog store.

Every asset is a catalog row, so every capability but ``security`` and
``governance`` (which sit below the catalog) takes this context. ``Platform``
builds it; anything else a service needs comes through its constructor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard._internal import service as kernel
from shipyard._internal.service import AuditWriter, Mutation, MutationObserver

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.catalog.store import SqlCatalogStore
    from shipyard.config import Settings
    from shipyard.security.models import Principal

__all__ = ["Mutation", "Service", "ServiceContext"]


class ServiceContext(kernel.ServiceContext):
    """The kernel context plus the catalog store."""

    __slots__ = ("catalog",)

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        audit: AuditWriter,
        principal: Principal,
        catalog: SqlCatalogStore,
        observer: MutationObserver | None = None,
    ) -> None:
        super().__init__(
            settings=settings, db=db, audit=audit, principal=principal, observer=observer
        )
        self.catalog = catalog

    def for_principal(self, principal: Principal) -> ServiceContext:
        return ServiceContext(
            settings=self.settings,
            db=self.db,
            audit=self.audit,
            principal=principal,
            catalog=self.catalog,
            observer=self.observer,
        )


class Service(kernel.ServiceBase[ServiceContext]):
    """Base of every capability service that reads or writes catalog assets."""
