"""The kernel every service stands on: the caller, the metadata database, and
the authorize-then-audit discipline that no skin can bypass.

It knows no capability: the audit log is reached through ``AuditWriter`` and the
catalog store is added one level up (``shipyard.catalog.context``), so that
``security``, ``governance`` and ``catalog`` can build on it without a circle.
Everything else a service needs (other services, the online store, the event
bus, ...) is passed to its constructor by ``Platform``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy.engine import Connection

from shipyard._internal.identity import Permission, Principal
from shipyard.errors import BackendUnavailable, PermissionDenied, ShipyardError

if TYPE_CHECKING:
    from shipyard._internal.db import Database
    from shipyard.config import Settings


#: Set while a ``mutation`` transaction is open in this call stack. A refusal
#: raised inside it cannot be audited there and then: on SQLite the open
#: transaction holds the write lock (a second writer would wait for it, i.e.
#: forever), and on any database it is about to roll back. The mutation writes
#: the record once its transaction has ended.
_IN_MUTATION: ContextVar[bool] = ContextVar("shipyard_in_mutation", default=False)


class AuditWriter(Protocol):
    """Where the kernel records what was done (``governance.audit.SqlAuditLog``)."""

    def write(
        self,
        conn: Connection,
        *,
        principal: str,
        action: str,
        outcome: str,
        asset: str | None = None,
        team: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Any: ...


@dataclass
class Mutation:
    """The open transaction of one audited change."""

    conn: Connection
    asset: str | None
    details: dict[str, Any] = field(default_factory=dict)
    #: Further assets the change wrote (``asset`` names one; an apply of several
    #: definitions names none there and lists them here).
    also: list[str] = field(default_factory=list)
    #: The change changed nothing (an ingest of a file seen before, a definition
    #: applied again as it was): audited, but not reported as a write.
    noop: bool = False


class AccessListener(Protocol):
    """Told what the calls made in a context (``listening``) wrote and read: a pipeline
    step's platform calls become its job's lineage (``shipyard.pipelines.run_lineage``).

    ``wrote`` runs after the change committed, with catalog refs (``kind:name`` or
    ``kind:name@version``); ``read`` after an audited read. A listener never raises.
    """

    def wrote(self, action: str, assets: Sequence[str]) -> None: ...
    def read(self, action: str, assets: Sequence[str]) -> None: ...


_LISTENERS: ContextVar[tuple[AccessListener, ...]] = ContextVar("shipyard_access", default=())


@contextmanager
def listening(listener: AccessListener) -> Iterator[None]:
    """Tell ``listener`` what the service calls made in this context write and read."""
    token = _LISTENERS.set((*_LISTENERS.get(), listener))
    try:
        yield
    finally:
        _LISTENERS.reset(token)


def notify_read(action: str, assets: Sequence[str]) -> None:
    """An audited read of ``assets`` (the lake's queries call it): tell the listeners."""
    for listener in _LISTENERS.get():
        with suppress(Exception):
            listener.read(action, assets)


def _notify_wrote(action: str, m: Mutation, permission: Permission) -> None:
    listeners = _LISTENERS.get()
    if not listeners or m.noop:
        return
    assets = [a for a in [m.asset, *m.also] if a]
    if not assets:
        return
    for listener in listeners:
        with suppress(Exception):
            if permission == Permission.READ:
                listener.read(action, assets)
            else:
                listener.wrote(action, assets)


class MutationObserver(Protocol):
    """Told about every audited change (``shipyard.lineage`` sends OpenLineage run events).

    ``started`` returns a token for the other two, or None when the action is of no
    interest; ``completed`` runs after the transaction committed. An observer never
    raises: it cannot fail or slow down the change it watches.
    """

    def started(self, action: str, *, principal: str, asset: str | None) -> Any: ...
    def completed(self, token: Any, *, asset: str | None, details: dict[str, Any]) -> None: ...
    def failed(self, token: Any, *, code: str) -> None: ...


class ServiceContext:
    """The metadata database, the audit log and the principal a service acts for."""

    __slots__ = ("audit", "db", "observer", "principal", "settings")

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        audit: AuditWriter,
        principal: Principal,
        observer: MutationObserver | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.audit = audit
        self.principal = principal
        self.observer = observer

    def for_principal(self, principal: Principal) -> ServiceContext:
        """The same context acting for ``principal`` (one per API caller: keep it cheap)."""
        return ServiceContext(
            settings=self.settings,
            db=self.db,
            audit=self.audit,
            principal=principal,
            observer=self.observer,
        )

    @property
    def default_team(self) -> str:
        return self.settings.security.default_team

    def require(
        self,
        permission: Permission,
        team: str,
        *,
        action: str,
        asset: str | None = None,
    ) -> None:
        """Raise ``PermissionDenied`` (and audit the attempt) unless the caller may."""
        if self.principal.can(permission, team):
            return
        denied = PermissionDenied(
            f"{self.principal.name} may not {action} (needs '{permission.value}' on team '{team}')",
            action=action,
            permission=permission.value,
            team=team,
        )
        record = {"action": action, "team": team, "asset": asset, "permission": permission.value}
        if _IN_MUTATION.get():
            denied.pending_audit = record  # type: ignore[attr-defined]
            raise denied
        self._audit_denied(record)
        raise denied

    def require_owner(
        self,
        stored: str | None,
        requested: str | None,
        *,
        action: str,
        asset: str | None = None,
    ) -> str:
        """Authorize a write to an asset against its STORED owner, never the one a body names.

        ``stored`` is the owner team recorded for the asset (None when it does not
        exist yet); ``requested`` the owner the caller asks for (None: keep it).
        An existing asset needs WRITE on its stored owner, and a change of owner (a
        transfer) needs WRITE on the new owner as well; a new asset needs WRITE on
        the requested owner (or the default team). Returns the owner after the write.
        """
        if stored is None:
            team = requested or self.default_team
            self.require(Permission.WRITE, team, action=action, asset=asset)
            return team
        self.require(Permission.WRITE, stored, action=action, asset=asset)
        if requested and requested != stored:
            self.require(Permission.WRITE, requested, action=action, asset=asset)
            return requested
        return stored

    def _audit_denied(self, record: dict[str, Any]) -> None:
        with self.db.begin() as conn:
            self.audit.write(
                conn,
                principal=self.principal.name,
                action=record["action"],
                outcome="denied",
                asset=record["asset"],
                team=record["team"],
                details={"permission": record["permission"]},
            )

    @contextmanager
    def mutation(
        self,
        action: str,
        *,
        team: str,
        asset: str | None = None,
        permission: Permission = Permission.WRITE,
        wait: float | None = None,
    ) -> Iterator[Mutation]:
        """Authorize, run the change in one transaction, and audit it in that transaction.

        A failure rolls the change back and is audited on its own with the error code.
        ``wait``: give up after this many seconds if another writer holds the catalog
        (``BackendUnavailable``) instead of the catalog's busy timeout.
        """
        self.require(permission, team, action=action, asset=asset)
        nested = _IN_MUTATION.get()
        token = _IN_MUTATION.set(True)
        failure: tuple[dict[str, Any] | None, str] | None = None
        observer = self.observer
        seen = (
            observer.started(action, principal=self.principal.name, asset=asset)
            if observer
            else None
        )
        try:
            with self.db.begin() if wait is None else self.db.begin_nowait(wait) as conn:
                m = Mutation(conn=conn, asset=asset)
                yield m
                self.audit.write(
                    conn,
                    principal=self.principal.name,
                    action=action,
                    outcome="ok",
                    asset=m.asset,
                    team=team,
                    details=m.details,
                )
            if observer is not None and seen is not None:
                observer.completed(seen, asset=m.asset, details=m.details)
            _notify_wrote(action, m, permission)
        except ShipyardError as exc:
            failure = (getattr(exc, "pending_audit", None), exc.code)
            raise
        except Exception as exc:
            failure = (None, type(exc).__name__)
            raise
        finally:
            _IN_MUTATION.reset(token)
            if failure is not None and observer is not None and seen is not None:
                observer.failed(seen, code=failure[1])
            # The transaction has ended (rolled back), so its lock is free. An
            # enclosing mutation still holds one: leave the record to it.
            if failure is not None and not nested:
                pending, code = failure
                if pending is None:
                    self._audit_failure(action, team, asset, code)
                else:  # refused inside the transaction; the refusal matters more than its record
                    with suppress(ShipyardError):
                        self._audit_denied(pending)

    def _audit_failure(self, action: str, team: str, asset: str | None, code: str) -> None:
        # A catalog that just failed to answer would make this record wait the whole
        # busy timeout again (a locked SQLite: 30 s more): try it briefly.
        unavailable = code == BackendUnavailable.code
        try:
            with self.db.begin_nowait(0.5) if unavailable else self.db.begin() as conn:
                self.audit.write(
                    conn,
                    principal=self.principal.name,
                    action=action,
                    outcome="error",
                    asset=asset,
                    team=team,
                    details={"error_code": code},
                )
        except ShipyardError:
            pass  # the original error matters more than its audit record


C = TypeVar("C", bound=ServiceContext)


class ServiceBase(Generic[C]):
    """Base of every capability service: holds its context (the kernel's or a richer one)."""

    _ctx: C

    def __init__(self, ctx: C) -> None:
        self._ctx = ctx

    @property
    def principal(self) -> Principal:
        return self._ctx.principal


class Service(ServiceBase[ServiceContext]):
    """A service that needs only the kernel (``security``, ``governance``)."""
