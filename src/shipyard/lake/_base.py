"""What every part of the lake service shares: storage, authorization, auditing, reads.

``LakeService`` is assembled from this base and one mixin per concern
(transforms, maintenance, change capture, columns), each in its own module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from deltalake import DeltaTable
from sqlglot import exp

from shipyard._internal.identity import ALL_TEAMS
from shipyard._internal.service import notify_read
from shipyard._internal.shared import Shared
from shipyard.catalog.context import Mutation, Service, ServiceContext
from shipyard.errors import BackendUnavailable, InvalidArgument, NotFound, ShipyardError
from shipyard.lake import records, sandbox
from shipyard.lake.models import PLATFORM_TABLES, RecoveredWrite, TableInfo, parse_table_name
from shipyard.lake.pending import Marker, PendingWrites
from shipyard.lake.storage import LakeStorage
from shipyard.lake.tables import lake_definitions
from shipyard.security.models import Permission

if TYPE_CHECKING:
    from shipyard._internal.quota import QuotaCheck

#: The marker of the write whose Delta work just succeeded, until ``_recording``.
_PENDING: ContextVar[Marker | None] = ContextVar("shipyard_lake_pending", default=None)


@dataclass
class LakeState:
    """What the lake keeps per platform, shared by every principal's view."""

    #: Python transform functions registered in this process, by table name.
    functions: dict[str, Any] = field(default_factory=dict)
    #: The pending-write markers were reconciled once (at the first ``LakeService``).
    reconciled: bool = False
    recovered_on_open: list[RecoveredWrite] = field(default_factory=list)


class LakeBase(Service):
    """Plumbing of the lake service (no public writes here)."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        storage: Shared[LakeStorage],
        pending: Shared[PendingWrites],
        state: LakeState,
        quotas: Callable[[], QuotaCheck] | None = None,
    ) -> None:
        super().__init__(ctx)
        self._quotas = quotas  # storage_bytes caps (issue #16)
        self._storage = storage
        self._pending = pending
        self._state = state

    # -- plumbing ------------------------------------------------------------------

    @property
    def storage(self) -> LakeStorage:
        return self._storage.get()

    def _functions(self) -> dict[str, Any]:
        return self._state.functions

    def _team(self, name: str, owner: str | None = None) -> str:
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, records.KIND, name)
        if asset is not None:
            return asset.owner
        if name in PLATFORM_TABLES:
            return ALL_TEAMS
        return owner or self._ctx.default_team

    @property
    def pending(self) -> PendingWrites:
        return self._pending.get()

    def _reconcile_pending(self) -> list[RecoveredWrite]:
        """Record the writes that died between Delta and the catalog (best effort)."""
        from shipyard.lake.reconcile import recover_orphans

        return recover_orphans(self)

    @contextmanager
    def _audited(
        self, action: str, team: str, asset: str, *, batch_id: str | None = None
    ) -> Iterator[None]:
        """Authorize before Delta work; audit a failure of that work.

        Leaves a marker of the write (see ``pending.py``) that ``_recording`` removes
        once the catalog has the write; a write that dies in between is reconciled.
        """
        self._ctx.require(Permission.WRITE, team, action=action, asset=asset)
        leftover = _PENDING.get()
        if leftover is not None:  # Delta work whose catalog record never started
            _PENDING.set(None)
            leftover.release(done=False)
        self._reconcile_pending()
        marker = self.pending.begin(
            asset.removeprefix("table:"),
            team=team,
            principal=self.principal.name,
            action=action,
            batch_id=batch_id,
        )
        _PENDING.set(marker)
        # The run (OpenLineage START) begins with the Delta work; the catalog record's
        # mutation completes it (the observer knows the run is already open).
        observer = self._ctx.observer
        seen = (
            observer.started(action, principal=self.principal.name, asset=asset)
            if observer
            else None
        )
        try:
            yield
        except ShipyardError as exc:
            self._drop_pending(marker)
            self._audit_error(action, team, asset, exc.code)
            if observer is not None and seen is not None:
                observer.failed(seen, code=exc.code)
            raise
        except Exception as exc:
            self._drop_pending(marker)
            self._audit_error(action, team, asset, type(exc).__name__)
            if observer is not None and seen is not None:
                observer.failed(seen, code=type(exc).__name__)
            raise

    @staticmethod
    def _drop_pending(marker: Marker) -> None:
        # The Delta work failed; it may still have committed part (a table, its
        # quarantine), so the marker stays for the reconcile to compare versions.
        _PENDING.set(None)
        marker.release(done=False)

    def _discard_pending(self) -> None:
        """The Delta work just audited committed nothing: forget its marker."""
        marker = _PENDING.get()
        if marker is not None:
            _PENDING.set(None)
            marker.release(done=True)

    @contextmanager
    def _recording(self, action: str, *, team: str, asset: str) -> Iterator[Mutation]:
        """The catalog transaction after Delta work (``ctx.mutation``), bounded by
        ``lake.catalog_wait``; the write's marker goes once it has committed."""
        marker = _PENDING.get()
        _PENDING.set(None)
        wait = self._ctx.settings.lake.catalog_wait
        try:
            with self._ctx.mutation(action, team=team, asset=asset, wait=wait) as m:
                yield m
        except BackendUnavailable as exc:
            if marker is not None:
                marker.release(done=False)
            raise BackendUnavailable(
                f"{asset.removeprefix('table:')} is committed in the lake, but the catalog "
                f"did not take its record within {wait:g} s ({exc.message}); it is recorded "
                "as recovered on the next lake operation. Retrying with the same batch_id "
                "does not write the data twice.",
                table=asset.removeprefix("table:"),
            ) from None
        except BaseException:
            if marker is not None:
                marker.release(done=False)
            raise
        if marker is not None:
            marker.release(done=True)

    def _audit_error(self, action: str, team: str, asset: str, code: str) -> None:
        with self._ctx.db.begin() as conn:
            self._ctx.audit.write(
                conn,
                principal=self.principal.name,
                action=action,
                outcome="error",
                asset=asset,
                team=team,
                details={"error_code": code},
            )

    def _record(
        self, conn: Any, name: str, team: str, *, dt: DeltaTable | None = None, **kwargs: Any
    ) -> Any:
        """Record the table (``dt``: a snapshot just committed, else the latest) in the catalog."""
        stats = self.storage.stats(dt if dt is not None else self.storage.open(name))
        return records.record(self._ctx, conn, self.storage, name, stats, owner=team, **kwargs)

    def _edges(self, conn: Any, target: Any, refs: list[str], operation: str, version: int) -> None:
        from shipyard.catalog.models import AssetRef

        for ref in refs:
            r = AssetRef.parse(ref, default_kind="table")
            upstream = self._ctx.catalog.get(conn, r.kind, r.name)
            self._ctx.catalog.add_edge(
                conn,
                upstream,
                target,
                operation=operation,
                created_by=self.principal.name,
                source_version=r.version,
                target_version=version,
            )

    def get_table(self, name: str) -> TableInfo:
        """The catalog view of a table: version, rows, size, columns (``NotFound`` if none)."""
        parse_table_name(name)
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, records.KIND, name)
            defined = conn.execute(
                sa.select(lake_definitions.c.definition).where(lake_definitions.c.name == name)
            ).first()
        if asset is None:
            raise NotFound(f"no lake table '{name}'", table=name)
        self._ctx.require(
            Permission.READ, asset.owner, action="lake.get_table", asset=f"table:{name}"
        )
        return records.info(
            asset, defined=defined is not None, definition=dict(defined[0]) if defined else None
        )

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
    ) -> pa.Table:
        """Read a table, optionally as of a version or a timestamp (time travel).

        Args:
            filter: a SQL predicate pushed down to the files (``amount > 10``).

        Raises:
            NotFound: no such table or version.
        """
        info = self.get_table(name)
        dt = self.storage.open(name, version=version, as_of=as_of)
        if filter is None:
            try:
                return dt.to_pyarrow_table(columns=columns)
            except Exception as exc:
                raise InvalidArgument(f"cannot read '{name}': {exc}", table=name) from None
        # The filter is parsed as one expression and put into the query as a tree:
        # never concatenated, so it cannot end the statement or start another.
        layer, _, table = name.partition(".")
        select = [exp.column(c, quoted=True) for c in columns] if columns else [exp.Star()]
        tree = (
            exp.select(*select)
            .from_(exp.table_(table, db=layer))
            .where(sandbox.check_filter(filter))
        )
        result = sandbox.run({name: dt}, tree, root=self.storage.root, limits=self._sql_limits())
        self._audit_read("lake.read", [name], {info.owner}, rows=result.num_rows)
        return result

    def _sql_limits(self) -> sandbox.SqlLimits:
        lake = self._ctx.settings.lake
        return sandbox.SqlLimits(lake.sql_timeout, lake.sql_memory_limit, lake.sql_max_rows)

    def _audit_read(self, action: str, tables: list[str], teams: set[str], *, rows: int) -> None:
        """One audit record per user query: who read which tables (refusals are audited
        by the permission check itself)."""
        with self._ctx.db.begin() as conn:
            self._ctx.audit.write(
                conn,
                principal=self.principal.name,
                action=action,
                outcome="ok",
                asset=f"table:{tables[0]}" if len(tables) == 1 else None,
                team=next(iter(teams)) if len(teams) == 1 else None,
                details={"tables": tables, "rows": rows},
            )
        notify_read(action, [f"table:{t}" for t in tables])
