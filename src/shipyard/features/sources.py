"""The one place the feature store touches lake tables.

Feature views read Delta tables lazily (a pyarrow dataset that DuckDB scans
with projection and filter push-down, so a feature table never has to fit in
Python memory), pinned to the version that was read so a training set can be
rebuilt bit for bit. Writes (training sets, pushed records) go through the
lake service when it is there, so the lake registers and audits them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from shipyard.errors import InvalidArgument, NotFound

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from shipyard.catalog.context import ServiceContext
    from shipyard.lake.service import LakeService


@dataclass
class OpenTable:
    name: str
    version: int
    dataset: pads.Dataset
    #: The snapshot's Parquet files when DuckDB may read them directly (a local table
    #: without partitions, deletion vectors or column mapping); else None.
    files: list[str] | None = None

    @property
    def schema(self) -> pa.Schema:
        return self.dataset.schema


def _split(name: str) -> tuple[str, str]:
    if name.count(".") != 1 or not all(name.split(".")):
        raise InvalidArgument(f"lake table names look like 'schema.table' (got {name!r})")
    schema, table = name.split(".")
    return schema, table


def _plain_files(dt: Any) -> list[str] | None:
    """Parquet files DuckDB can scan natively (much faster than through a pyarrow dataset)."""
    protocol = dt.protocol()
    if protocol.reader_features or protocol.min_reader_version > 1:
        return None
    if dt.metadata().partition_columns:
        return None
    files = [str(f) for f in dt.file_uris()]
    if not files or any("://" in f and not f.startswith("file://") for f in files):
        return None
    return [f.removeprefix("file://") for f in files]


class LakeTables:
    """Open, and append to, lake tables by name (``schema.table``)."""

    def __init__(self, ctx: ServiceContext, lake: LakeService | None) -> None:
        self._ctx = ctx
        self._lake_service = lake

    def _lake(self) -> LakeService | None:
        return self._lake_service

    def path(self, name: str) -> str:
        """Where the lake keeps ``name`` (``<lake_root>/<layer>/<table>``)."""
        lake = self._lake()
        if lake is not None:
            return str(lake.storage.uri(name))
        schema, table = _split(name)
        return os.path.join(self._ctx.settings.lake_root, schema, table)

    def _storage_options(self) -> dict[str, str] | None:
        return dict(self._ctx.settings.lake.storage_options) or None

    def open(self, name: str, version: int | None = None) -> OpenTable:
        """The table as a lazily scanned dataset at ``version`` (default: the newest).

        Raises:
            NotFound: no such table (or no such version of it).
        """
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:
            dt = DeltaTable(self.path(name), storage_options=self._storage_options())
            if version is not None:
                dt.load_as_version(version)
        except TableNotFoundError:
            raise NotFound(f"no lake table named '{name}'", table=name) from None
        except Exception as exc:  # deltalake raises plain exceptions for a missing version
            raise NotFound(f"lake table '{name}' has no version {version}: {exc}") from None
        return OpenTable(
            name=name, version=dt.version(), dataset=dt.to_pyarrow_dataset(), files=_plain_files(dt)
        )

    def exists(self, name: str) -> bool:
        try:
            self.open(name)
        except NotFound:
            return False
        return True

    def write(
        self,
        name: str,
        data: pa.Table,
        *,
        mode: str = "overwrite",
        sources: list[str] | None = None,
        operation: str = "write",
        owner: str | None = None,
    ) -> int:
        """Write ``data`` as a new version of ``name`` (``overwrite`` or ``append``).

        Returns the Delta version.

        Through the lake service (which audits it and records ``sources`` as lineage)
        when it is installed.
        """
        lake = self._lake()
        if lake is not None:
            info = lake.write(
                name,
                data,
                mode="overwrite",
                schema_evolution=True,
                sources=sources,
                operation=operation,
                owner=owner,
            )
            return int(info.version)
        from deltalake import DeltaTable, write_deltalake

        path = self.path(name)
        write_deltalake(  # type: ignore[call-overload]
            path,
            data,
            mode=mode,
            schema_mode="overwrite" if mode == "overwrite" else None,
            storage_options=self._storage_options(),
        )
        return DeltaTable(path, storage_options=self._storage_options()).version()

    def read(self, name: str, version: int | None = None) -> pa.Table:
        return self.open(name, version).dataset.to_table()
