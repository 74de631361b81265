"""What a capability service gets: the kernel (caller, database, audit) plus the catalog store.

Every asset is a catalog row, so every capability but ``security`` and
``governance`` (which sit below the catalog) takes this context. ``Platform``
builds it; anything else a service needs comes through its constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard._internal import service as kernel
from shipyard._internal.service import AuditWriter, Mutation, MutationObserver

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard._internal.job import Job
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


#: Queue a platform action as a job for the caller (``JobService.submit_action``).
SubmitAction = Callable[[str, dict[str, Any]], "Job"]


class Service(kernel.ServiceBase[ServiceContext]):
    """Base of every capability service that reads or writes catalog assets."""

    #: What ``submit=True`` of a long operation queues with; ``Platform`` sets it.
    _submitter: SubmitAction | None = None

    def _queue_action(self, action: str, **params: Any) -> Job:
        """``submit=True``: ``action`` queued as a job for the caller, as its HTTP route
        does (JSON arguments, ``None`` left out), authorized before anything is queued."""
        from pydantic_core import to_jsonable_python

        from shipyard.errors import InvalidArgument

        if self._submitter is None:
            raise InvalidArgument(f"{action}: submit=True needs the platform's job queue")
        args = {k: v for k, v in to_jsonable_python(params).items() if v is not None}
        return self._submitter(action, args)
