"""What every part of the lake service shares: storage, authorization, auditing, reads.

``LakeService`` is assembled from this base and one mixin per concern
(transforms, maintenance, change capture, columns), each in its own module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from deltalake import DeltaTable

from shipyard._internal.service import Service
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.lake import query, records
from shipyard.lake.models import TableInfo, parse_table_name
from shipyard.lake.storage import DeltaStorage
from shipyard.lake.tables import lake_definitions
from shipyard.security.models import Permission

EXTRAS_KEY = "lake"


class LakeBase(Service):
    """Plumbing of the lake service (no public writes here)."""

    # -- plumbing ------------------------------------------------------------------

    @property
    def storage(self) -> DeltaStorage:
        state = self._ctx.extras.setdefault(EXTRAS_KEY, {})
        if "storage" not in state:
            s = self._ctx.settings
            state["storage"] = DeltaStorage(s.lake_root, s.lake.storage_options)
        storage: DeltaStorage = state["storage"]
        return storage

    def _functions(self) -> dict[str, Any]:
        functions: dict[str, Any] = self._ctx.extras.setdefault(EXTRAS_KEY, {}).setdefault(
            "functions", {}
        )
        return functions

    def _team(self, name: str, owner: str | None = None) -> str:
        with self._ctx.db.connect() as conn:
            asset = self._ctx.catalog.find(conn, records.KIND, name)
        if asset is not None:
            return asset.owner
        return owner or self._ctx.default_team

    @contextmanager
    def _audited(self, action: str, team: str, asset: str) -> Iterator[None]:
        """Authorize before Delta work; audit a failure of that work."""
        self._ctx.require(Permission.WRITE, team, action=action, asset=asset)
        try:
            yield
        except ShipyardError as exc:
            self._audit_error(action, team, asset, exc.code)
            raise
        except Exception as exc:
            self._audit_error(action, team, asset, type(exc).__name__)
            raise

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
        self.get_table(name)
        dt = self.storage.open(name, version=version, as_of=as_of)
        if filter is None:
            try:
                return dt.to_pyarrow_table(columns=columns)
            except Exception as exc:
                raise InvalidArgument(f"cannot read '{name}': {exc}", table=name) from None
        cols = ", ".join(query.quote(c) for c in columns) if columns else "*"
        con = query.connect({name: dt}, root=self.storage.root)
        try:
            return query.run(con, f"SELECT {cols} FROM {name} WHERE {filter}")
        finally:
            con.close()
