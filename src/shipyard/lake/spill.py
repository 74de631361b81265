"""Unparseable rows of an ingest, in bounded memory.

Up to ``SPILL_ROWS`` quarantine records are kept in memory; beyond that they go
to a temporary Arrow IPC file and are streamed back into the quarantine table's
commit, so a file with millions of bad rows ingests in fixed memory too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime

import pyarrow as pa

from shipyard.lake.ingest import QUARANTINE_SCHEMA, BadRow

SPILL_ROWS = 50_000


class BadRows:
    """Quarantine records of one ingest (``count`` of them), spilled past ``SPILL_ROWS``."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.count = 0
        self._pending: list[tuple[str, str, BadRow]] = []
        self._path: str | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | None = None

    def add(self, batch_id: str, source: str, rows: Iterable[BadRow]) -> None:
        before = len(self._pending)
        self._pending += [(batch_id, source, r) for r in rows]
        self.count += len(self._pending) - before
        if len(self._pending) >= SPILL_ROWS:
            self._spill()

    def _batch(self) -> pa.RecordBatch:
        rows = self._pending
        return pa.RecordBatch.from_pydict(
            {
                "_raw": [r.raw for _, _, r in rows],
                "_source": [s for _, s, _ in rows],
                "_line": [r.line for _, _, r in rows],
                "_reason": [r.reason for _, _, r in rows],
                "_batch_id": [b for b, _, _ in rows],
                "_ingested_at": [self.at] * len(rows),
            },
            schema=QUARANTINE_SCHEMA,
        )

    def _spill(self) -> None:
        if self._writer is None:
            fd, self._path = tempfile.mkstemp(prefix="shipyard-quarantine-", suffix=".arrows")
            os.close(fd)
            self._writer = pa.ipc.new_stream(self._path, QUARANTINE_SCHEMA)
        self._writer.write_batch(self._batch())
        self._pending = []

    def data(self) -> pa.Table | pa.RecordBatchReader:
        """All records: a table when they fit in memory, else a stream from the spill file."""
        if self._writer is None:
            return pa.Table.from_batches([self._batch()], QUARANTINE_SCHEMA)
        if self._pending:
            self._spill()
        self._writer.close()
        return pa.RecordBatchReader.from_batches(QUARANTINE_SCHEMA, self._replay())

    def _replay(self) -> Iterator[pa.RecordBatch]:
        assert self._path is not None
        with pa.OSFile(self._path, "rb") as source:  # not mapped: RSS would count it
            yield from pa.ipc.open_stream(source)

    def close(self) -> None:
        if self._writer is not None and self._path is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._writer.close()  # a second close (after data()) is harmless
            os.unlink(self._path)
            self._path = None
