"""Where Delta tables live: the lake-storage seam.

``LakeStorage`` is the interface the lake's write, refresh, CDC and query code
depends on: map a table name to a Delta URI plus storage options, open a
snapshot (latest, a version, a timestamp), commit a write idempotently. The
tables are Delta (the open format is the point), so snapshots are
``deltalake.DeltaTable`` objects, which DuckDB reads as Arrow datasets or as
their Parquet files.

``DeltaStorage`` implements it for a local folder and for S3-compatible
storage: ``deltalake`` speaks both file systems, so one class serves both (as
one SQLAlchemy store serves SQLite and PostgreSQL); what differs is declared as
capability flags (``concurrent_writers``, ``deletes_tables``) that
``tests/contract/lake_storage`` checks on both.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import (
    CommitFailedError,
    DeltaError,
    SchemaMismatchError,
    TableNotFoundError,
)

from shipyard.errors import BackendUnavailable, Conflict, InvalidArgument, NotFound

#: Commit metadata keys (Delta ``commitInfo``) Shipyard writes.
META_PRINCIPAL = "shipyard.principal"
META_OPERATION = "shipyard.operation"
META_SOURCES = "shipyard.sources"
META_DEFINITION = "shipyard.definition"
META_BATCH = "shipyard.batch_id"
#: Commits searched for the one that applied a batch id (only when a retry is skipped).
BATCH_SCAN = 100
TXN_PREFIX = "shipyard."


@dataclass(frozen=True)
class TableStats:
    version: int
    num_rows: int
    size_bytes: int
    num_files: int
    schema: pa.Schema


class LakeStorage(ABC):
    """Delta tables under one root; the lake service decides what to write.

    Every method turns a storage failure into ``BackendUnavailable``.
    """

    #: The root every table lives under (no trailing slash).
    root: str
    #: Storage options handed to ``deltalake`` (object-store keys; empty for a folder).
    options: dict[str, str]
    #: The root is an object store (or another remote file system), not a local folder.
    is_remote: bool
    #: Several processes may commit to one table at once without losing writes.
    concurrent_writers: bool
    #: ``delete_table`` removes the table's files (otherwise it leaves them in place).
    deletes_tables: bool

    @abstractmethod
    def uri(self, name: str) -> str:
        """The Delta URI of table ``layer.name``: ``<root>/<layer>/<name>``."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether a Delta table is stored at ``uri(name)``."""

    @abstractmethod
    def open(
        self, name: str, *, version: int | None = None, as_of: datetime | str | None = None
    ) -> DeltaTable:
        """A snapshot of the table (latest, a version, or as of a timestamp).

        A timestamp picks the last commit whose log file was written at or before it,
        as the storage dates files: object stores (S3) keep whole seconds.

        Raises:
            NotFound: the table (or the version) does not exist.
        """

    @abstractmethod
    def find(self, name: str) -> DeltaTable | None:
        """The latest snapshot of the table, or ``None`` if there is no table."""

    @abstractmethod
    def write(
        self,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        mode: Literal["append", "overwrite"] = "append",
        metadata: dict[str, Any] | None = None,
        keys: Sequence[str] = (),
        schema_mode: Literal["merge", "overwrite"] | None = None,
        predicate: str | None = None,
        configuration: dict[str, str | None] | None = None,
        table: DeltaTable | None = None,
    ) -> DeltaTable:
        """Commit ``data`` as one Delta transaction; ``keys`` make it idempotent.

        Returns the table as of the new commit.

        Raises:
            InvalidArgument: the data does not fit the table's schema.
            Conflict: a concurrent writer committed a conflicting change.
        """

    @abstractmethod
    def delete_table(self, name: str) -> None:
        """Remove a table's files (used to drop failed creations; see ``deletes_tables``)."""

    # -- reading the Delta log of a snapshot (the same on every storage) -------------------

    def applied(self, dt: DeltaTable, key: str) -> bool:
        """Whether a write with idempotency ``key`` was already committed to ``dt``."""
        return dt.transaction_version(TXN_PREFIX + key) is not None

    def batch_version(self, dt: DeltaTable, batch_id: str) -> int:
        """The version that committed ``batch_id`` (``META_BATCH``; else the latest)."""
        for entry in dt.history(BATCH_SCAN):
            if entry.get(META_BATCH) == batch_id and "version" in entry:
                return int(entry["version"])
        return dt.version()

    def stats(self, dt: DeltaTable) -> TableStats:
        """Version, rows, bytes, files and schema of a snapshot."""
        actions = pa.table(dt.get_add_actions(flatten=False))
        rows = actions.column("num_records").to_pylist() if actions.num_rows else []
        sizes = actions.column("size_bytes").to_pylist() if actions.num_rows else []
        return TableStats(
            version=dt.version(),
            num_rows=int(sum(r or 0 for r in rows)),
            size_bytes=int(sum(sizes)),
            num_files=actions.num_rows,
            schema=arrow_schema(dt),
        )


class DeltaStorage(LakeStorage):
    """Delta tables under one root (``/path/lake`` or ``s3://bucket/prefix``)."""

    def __init__(self, root: str, storage_options: dict[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.options = dict(storage_options or {})
        self.is_remote = "://" in self.root and not self.root.startswith("file://")
        #: Several processes may commit to one table at once without losing writes.
        #: Local folders use atomic renames; S3 needs a conditional-put or locking
        #: provider, otherwise delta-rs must be told that unsafe renames are acceptable.
        self.concurrent_writers = not self.is_remote or bool(
            self.options.get("conditional_put") or self.options.get("AWS_S3_LOCKING_PROVIDER")
        )
        #: Deleting needs a file system listing; delta-rs offers none for object stores.
        self.deletes_tables = not self.is_remote
        if not self.is_remote:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def uri(self, name: str) -> str:
        layer, _, rest = name.partition(".")
        return f"{self.root}/{layer}/{rest}"

    def exists(self, name: str) -> bool:
        try:
            return DeltaTable.is_deltatable(self.uri(name), storage_options=self.options or None)
        except (OSError, DeltaError) as exc:
            raise BackendUnavailable(f"lake storage {self.root} is unavailable: {exc}") from None

    def open(
        self, name: str, *, version: int | None = None, as_of: datetime | str | None = None
    ) -> DeltaTable:
        try:
            dt = DeltaTable(self.uri(name), storage_options=self.options or None)
        except TableNotFoundError:
            raise NotFound(f"no lake table '{name}'", table=name) from None
        except (OSError, DeltaError) as exc:
            raise BackendUnavailable(f"cannot open lake table '{name}': {exc}") from None
        try:
            if version is not None:
                if version < 0 or version > dt.version():
                    raise NotFound(
                        f"table '{name}' has no version {version} (latest is {dt.version()})",
                        table=name,
                        version=version,
                    )
                dt.load_as_version(version)
            elif as_of is not None:
                dt.load_as_version(as_of)
        except (DeltaError, ValueError, OSError) as exc:
            raise NotFound(f"table '{name}' has no snapshot at {version or as_of}: {exc}") from None
        return dt

    def find(self, name: str) -> DeltaTable | None:
        try:
            return DeltaTable(self.uri(name), storage_options=self.options or None)
        except TableNotFoundError:
            return None
        except (OSError, DeltaError) as exc:
            raise BackendUnavailable(f"cannot open lake table '{name}': {exc}") from None

    def write(
        self,
        name: str,
        data: pa.Table | pa.RecordBatchReader,
        *,
        mode: Literal["append", "overwrite"] = "append",
        metadata: dict[str, Any] | None = None,
        keys: Sequence[str] = (),
        schema_mode: Literal["merge", "overwrite"] | None = None,
        predicate: str | None = None,
        configuration: dict[str, str | None] | None = None,
        table: DeltaTable | None = None,
    ) -> DeltaTable:
        """See ``LakeStorage.write``.

        ``table``: a snapshot of the table the caller already holds (saves reloading
        its log; a stale one is fine, the commit resolves against the latest).
        """
        uri = self.uri(name)
        props = CommitProperties(
            custom_metadata={k: _meta(v) for k, v in (metadata or {}).items()},
            app_transactions=[Transaction(TXN_PREFIX + k, 1) for k in keys] or None,
            max_commit_retries=50,
        )
        for attempt in range(3):
            held = table if attempt == 0 and table is not None else self.find(name)
            target: str | DeltaTable = held or uri
            try:
                options: dict[str, Any] = {
                    "mode": mode,
                    "schema_mode": schema_mode,
                    "predicate": predicate,
                    "storage_options": self.options or None,
                    "commit_properties": props,
                    "configuration": (configuration or None) if isinstance(target, str) else None,
                }
                write_deltalake(target, data, **options)
                break
            except SchemaMismatchError as exc:
                raise InvalidArgument(
                    f"data does not fit table '{name}': {exc}", table=name
                ) from None
            except CommitFailedError as exc:
                # Writers racing to create a table (or a concurrent schema change)
                # invalidate this attempt; an in-memory table can simply go again
                # (nothing was committed), a stream cannot be replayed.
                if not isinstance(data, pa.Table) or attempt == 2:
                    raise Conflict(f"concurrent change to '{name}': {exc}", table=name) from None
                if keys and self.exists(name):
                    current = self.open(name)
                    if all(self.applied(current, k) for k in keys):
                        return current  # a concurrent writer committed this very batch
        return target if isinstance(target, DeltaTable) else self.open(name)

    def delete_table(self, name: str) -> None:
        if not self.deletes_tables:
            return
        import shutil

        shutil.rmtree(self.uri(name).removeprefix("file://"), ignore_errors=True)


def arrow_schema(dt: DeltaTable) -> pa.Schema:
    return pa.schema(dt.schema().to_arrow())


def _meta(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
