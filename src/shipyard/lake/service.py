"""The lake service: the only entry point the CLI, the HTTP API and the SDK use.

Writes follow one shape: authorize, commit the Delta transaction, then record
the catalog asset (version == Delta version), lineage and the audit record in
one short metadata transaction. Delta work runs outside the metadata
transaction so that a long ingest never holds the catalog's write lock; a
failure is audited on its own and leaves the table at its previous version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import sqlalchemy as sa

from shipyard._internal import progress
from shipyard._internal.paging import Page, readable_teams, resolve_limit
from shipyard._internal.shared import Shared
from shipyard.catalog.context import ServiceContext
from shipyard.errors import InvalidArgument
from shipyard.lake import query, records, sandbox, writes
from shipyard.lake._base import LakeState
from shipyard.lake.cdc import ChangesMixin
from shipyard.lake.columns import ColumnsMixin
from shipyard.lake.ingest import resolve
from shipyard.lake.maintenance import MaintenanceMixin
from shipyard.lake.models import (
    IngestResult,
    TableInfo,
    parse_table_name,
    quarantine_name,
)
from shipyard.lake.pending import PendingWrites
from shipyard.lake.reconcile import ReconcileMixin
from shipyard.lake.storage import LakeStorage
from shipyard.lake.tables import lake_definitions
from shipyard.lake.transforms import TransformsMixin

if TYPE_CHECKING:
    from shipyard._internal.quota import QuotaCheck


class LakeService(TransformsMixin, MaintenanceMixin, ChangesMixin, ColumnsMixin, ReconcileMixin):
    """Medallion Delta tables: ingest, define, refresh, query, time travel."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        storage: Shared[LakeStorage],
        pending: Shared[PendingWrites],
        state: LakeState,
        quotas: Callable[[], QuotaCheck] | None = None,
    ) -> None:
        super().__init__(ctx, storage=storage, pending=pending, state=state, quotas=quotas)
        if not state.reconciled:  # once per process: one listing of the marker folder
            state.reconciled = True
            state.recovered_on_open = self._reconcile_pending()

    # -- ingestion and writes -----------------------------------------------------------

    def ingest(
        self,
        name: str,
        path: str | Path,
        *,
        format: str | None = None,
        batch_id: str | None = None,
        delimiter: str = ",",
        schema_evolution: bool = False,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        on_progress: progress.OnProgress | None = None,
    ) -> IngestResult:
        """Append CSV, JSON-lines or Parquet files (a file, a folder or a glob) to a bronze table.

        Every row gets ``_ingested_at``, ``_source`` and ``_batch_id``. Re-ingesting the
        same file (same content) or batch id is a no-op. Rows that cannot be parsed go
        to ``<name>__quarantine`` with their raw text, source, line and reason.

        Args:
            name: ``bronze.<name>``.
            path: a file, a folder or a glob.
            format: ``csv``, ``jsonl`` or ``parquet`` (default: from the file suffix).
            batch_id: idempotency key (default: the content hash of each file).
            delimiter: CSV delimiter.
            schema_evolution: allow new columns to be added to the table.
            owner: owning team of a new table.
            on_progress: called with (rows read so far, None) as the files stream in.

        Returns:
            IngestResult with the table version, rows written and quarantined.

        Raises:
            InvalidArgument: bad name, empty file, wrong delimiter, columns that do not match.
            NotFound: no file at ``path``.
            PermissionDenied: the caller may not write to the table's team.
        """
        layer, _ = parse_table_name(name)
        if layer != "bronze":
            raise InvalidArgument(
                f"ingest writes bronze tables; '{name}' is in {layer}", table=name
            )
        team = self._team(name, owner)
        with (
            self._audited("lake.ingest", team, f"table:{name}", batch_id=batch_id),
            progress.reporting(on_progress),
        ):
            files = resolve(path)
            out = writes.ingest_files(
                self.storage,
                name,
                files,
                fmt=format,
                batch_id=batch_id,
                delimiter=delimiter,
                evolve=schema_evolution,
                principal=self.principal.name,
            )
        with self._recording("lake.ingest", team=team, asset=f"table:{name}") as m:
            self._record(m.conn, name, team, description=description, tags=tags)
            if out.wrote_quarantine or self.storage.exists(quarantine_name(name)):
                self._record(m.conn, quarantine_name(name), team)
            m.asset = f"table:{name}@{out.version}"
            m.details = {
                "batch_id": out.batch_id,
                "rows": out.rows_written,
                "quarantined": out.rows_quarantined,
                "skipped": out.skipped,
                "files": out.files[:20],
            }
            m.noop = out.skipped
        return IngestResult(
            table=name,
            version=out.version,
            rows_written=out.rows_written,
            rows_quarantined=out.rows_quarantined,
            batch_id=out.batch_id,
            skipped=out.skipped,
            files=out.files,
        )

    def write(
        self,
        name: str,
        data: Any,
        mode: Literal["append", "overwrite"] = "append",
        *,
        batch_id: str | None = None,
        source: str = "api",
        schema_evolution: bool = False,
        owner: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        sources: list[str] | None = None,
        operation: str = "write",
    ) -> TableInfo:
        """Write rows to a table (any layer) as one Delta transaction.

        Bronze tables get ``_ingested_at``/``_source``/``_batch_id`` and are idempotent
        by ``batch_id`` (default: a hash of the data). Other capabilities save their
        tables through this (training sets as ``datasets.<name>``, inference logs).

        Args:
            name: ``<layer>.<name>``.
            data: a pyarrow Table/RecordBatch/Reader, a pandas DataFrame, a list of
                records or a dict of columns.
            mode: ``append`` or ``overwrite``.
            batch_id: idempotency key; a write with a key already applied is skipped.
            source: recorded in ``_source`` for bronze tables.
            schema_evolution: allow new columns (and, with overwrite, a new schema).
            owner: owning team of a new table.
            sources: catalog refs (``table:gold.x@3``) this data was made from (lineage).
            operation: the lineage operation name.

        Returns:
            TableInfo of the table at its new version.

        Raises:
            InvalidArgument: bad name or mode, data that does not fit the schema.
            PermissionDenied: the caller may not write to the table's team.
        """
        parse_table_name(name)
        team = self._team(name, owner)
        if self._quotas is not None:
            from shipyard._internal.quota import QuotaResource

            self._quotas().enforce(QuotaResource.STORAGE_BYTES, team, action="lake.write")
        with self._audited("lake.write", team, f"table:{name}", batch_id=batch_id):
            tbl = writes.to_arrow(data)
            out = writes.write_table(
                self.storage,
                name,
                tbl,
                mode=mode,
                batch_id=batch_id,
                source=source,
                evolve=schema_evolution,
                principal=self.principal.name,
            )
        with self._recording("lake.write", team=team, asset=f"table:{name}") as m:
            asset = self._record(m.conn, name, team, description=description, tags=tags)
            self._edges(m.conn, asset, sources or [], operation, out.version)
            m.asset = f"table:{name}@{out.version}"
            m.details = {"mode": mode, "rows": out.rows_written, "skipped": out.skipped}
            m.noop = out.skipped
            if out.batch_id:
                m.details["batch_id"] = out.batch_id
        return self.get_table(name)

    # -- reads ------------------------------------------------------------------------

    def list_tables(
        self,
        *,
        layer: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TableInfo]:
        """Lake tables the caller may read, by name (``layer``: bronze, silver, gold, ...)."""
        size = resolve_limit(self._ctx.settings, limit)
        with self._ctx.db.connect() as conn:
            assets, token = self._ctx.catalog.page(
                conn,
                scope="lake.tables",
                teams=readable_teams(self.principal),
                limit=size,
                page_token=page_token,
                kind=records.KIND,
                name_prefix=f"{layer}." if layer else None,
            )
            names = [a.name for a in assets]
            defined = {
                r.name: r.definition
                for r in conn.execute(
                    sa.select(lake_definitions).where(lake_definitions.c.name.in_(names))
                )
            }
        items = [
            records.info(a, defined=a.name in defined, definition=defined.get(a.name))
            for a in assets
        ]
        return Page(items=items, next_page_token=token)

    def sql(
        self,
        statement: str,
        *,
        versions: dict[str, int] | None = None,
        as_of: datetime | str | None = None,
    ) -> pa.Table:
        """Run a read-only DuckDB query over lake tables named ``<layer>.<name>``.

        The query runs in the SQL sandbox (``lake/sandbox.py``): one SELECT/WITH
        statement over tables the caller may read, on a locked connection, within
        ``lake.sql_timeout``, ``lake.sql_memory_limit`` and ``lake.sql_max_rows``.
        Each call is audited (``lake.sql``) with the tables it read.

        Args:
            statement: one SELECT or WITH query.
            versions: pin tables to versions, e.g. ``{"bronze.orders": 3}``.
            as_of: read every table not pinned by ``versions`` as of this time.

        Returns:
            the result as a pyarrow Table.

        Raises:
            InvalidArgument: a syntax error, anything but a query, a table function
                or file path, or a failing query.
            PermissionDenied: the query names a table the caller may not read.
            NotFound: the query names a table that does not exist.
            QuotaExceeded: the query hit a time, memory or row limit.
        """
        tree = sandbox.check_query(statement)
        pins = versions or {}
        tables = {}
        names = query.referenced_tables(tree)
        teams = set()
        for name in names:
            teams.add(self.get_table(name).owner)
            pinned = pins.get(name)
            tables[name] = self.storage.open(
                name, version=pinned, as_of=as_of if pinned is None else None
            )
        result = sandbox.run(tables, tree, root=self.storage.root, limits=self._sql_limits())
        self._audit_read("lake.sql", names, teams, rows=result.num_rows)
        return result
