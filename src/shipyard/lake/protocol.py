"""The interface of lake: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol, overload

import pyarrow as pa

from shipyard._internal.job import Job
from shipyard._internal.paging import Page
from shipyard.lake.models import (
    MIN_RETENTION_HOURS,
    ChangesResult,
    ColumnLineage,
    HistoryEntry,
    MaintenanceResult,
    RefreshResult,
    TableDefinition,
    TableInfo,
)


class LakeAPI(Protocol):
    """What ``LakeService`` offers both in-process and over HTTP."""

    def get_table(self, name: str) -> TableInfo:
        """The catalog view of a table: version, rows, size, columns (``NotFound`` if none)."""
        ...

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        as_of: datetime | str | None = None,
        columns: list[str] | None = None,
        filter: str | None = None,
    ) -> pa.Table:
        """Read a table, optionally as of a version or a timestamp (time travel)."""
        ...

    def describe_column(
        self,
        name: str,
        column: str,
        *,
        description: str | None = None,
        tags: list[str] | None = None,
    ) -> TableInfo:
        """Document a column and classify it (tags such as ``pii``); audited."""
        ...

    def column_lineage(self, column: str, *, depth: int = 10) -> ColumnLineage:
        """The upstream columns that feed ``<layer>.<table>.<column>``, level by level."""
        ...

    def apply_changes(
        self,
        name: str,
        changes: Any,
        *,
        keys: list[str],
        sequence_by: str,
        operation_column: str = "op",
        delete_value: str = "DELETE",
        batch_id: str | None = None,
        owner: str | None = None,
    ) -> ChangesResult:
        """Apply a change feed (inserts, updates, deletes) to a table with a Delta MERGE."""
        ...

    def history(self, name: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """Versions of a table, newest first: time, operation, who, rows added/removed."""
        ...

    def restore(
        self, name: str, *, version: int | None = None, as_of: datetime | str | None = None
    ) -> TableInfo:
        """Make a table's content that of an earlier version (a new version; audited)."""
        ...

    def optimize(
        self, name: str, *, z_order: list[str] | None = None, target_size: int | None = None
    ) -> MaintenanceResult:
        """Compact small files (optionally z-ordered by columns) into a new version."""
        ...

    def vacuum(
        self,
        name: str,
        *,
        retention_hours: int = MIN_RETENTION_HOURS,
        dry_run: bool = False,
        force: bool = False,
    ) -> MaintenanceResult:
        """Delete files no version newer than ``retention_hours`` needs."""
        ...

    def define(self, definition: TableDefinition) -> TableInfo:
        """Declare (or change) how a curated table is computed; creates the empty table."""
        ...

    def get_definition(self, name: str) -> TableDefinition:
        """The stored definition of a curated table (``NotFound`` if it has none)."""
        ...

    @overload
    def refresh(
        self, name: str, *, full: bool = False, submit: Literal[False] = False
    ) -> RefreshResult: ...
    @overload
    def refresh(self, name: str, *, full: bool = False, submit: Literal[True]) -> Job: ...
    def refresh(
        self, name: str, *, full: bool = False, submit: bool = False
    ) -> RefreshResult | Job:
        """Recompute a defined table from its sources (``submit=True``: queue it, return the job)."""
        ...

    @overload
    def refresh_all(
        self, *, full: bool = False, submit: Literal[False] = False
    ) -> list[RefreshResult]: ...
    @overload
    def refresh_all(self, *, full: bool = False, submit: Literal[True]) -> Job: ...
    def refresh_all(self, *, full: bool = False, submit: bool = False) -> list[RefreshResult] | Job:
        """Refresh every defined table, upstream before downstream (``submit=True``: queue
        it, return the job)."""
        ...

    def list_refreshes(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[dict[str, Any]]:
        """Past refreshes of a table with their expectation counts, newest first."""
        ...

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
        """Write rows to a table (any layer) as one Delta transaction."""
        ...

    def list_tables(
        self,
        *,
        layer: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TableInfo]:
        """Every lake table the caller may read, by name."""
        ...

    def sql(
        self,
        statement: str,
        *,
        versions: dict[str, int] | None = None,
        as_of: datetime | str | None = None,
    ) -> pa.Table:
        """Run a read-only DuckDB query over lake tables named ``<layer>.<name>``."""
        ...
