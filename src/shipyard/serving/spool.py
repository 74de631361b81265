"""The prediction spool: where server processes leave predictions for the inference log.

A server process never writes the inference log's Delta table itself. Its
``PredictionLogger`` puts what it buffered into the ``prediction_spool`` table of the
metadata database every ``serving.log_flush_seconds`` (one row a block, Arrow IPC,
keyed by the block id so a retried put adds nothing). The scheduled
``flush_prediction_log`` job -- and any reader that needs the latest rows (deployment
stats, canary checks, SLOs, drift) -- calls ``PredictionSpool.flush``, which moves the
blocks into the Delta table (ADR 0052):

1. It takes the spool's lease (one row, a conditional update: free or expired only),
   so two flushes never move the same block. A dead flush's lease expires.
2. It first finishes what a dead flush left: blocks that already carry a batch id are
   written again under that id -- the lake skips a batch it already applied -- and
   deleted.
3. Then, oldest first, it marks up to ``max_rows`` rows of blocks with a new batch id,
   writes them as one Delta append under that id, and deletes them.

So a block is appended once even when a flush is killed between its commit and its
delete, and rows spooled by a process that was then killed with ``kill -9`` reach the
log: ``kill -9`` loses only what was still in the process's memory (at most
``log_flush_seconds``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shipyard._internal.clock import utcnow
from shipyard.serving.log_jobs import spooled
from shipyard.serving.predlog import LogWriter
from shipyard.serving.tables import prediction_spool, spool_lease

if TYPE_CHECKING:
    from shipyard._internal.db import Database


log = logging.getLogger("shipyard.serving.spool")

_LEASE = "inference_log"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_IPC = pa.ipc.IpcWriteOptions(compression="zstd")


class LeaseLost(RuntimeError):
    """This flush's lease expired and another flush may hold it: stop before writing."""


def encode(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=_IPC) as out:
        out.write_table(table)
    return sink.getvalue().to_pybytes()


def decode(payloads: Sequence[bytes]) -> tuple[pa.Table | None, list[int]]:
    """The blocks as one table, and the positions of those that do not read as Arrow
    (left out: one unreadable block must not stop the log forever)."""
    tables, bad = [], []
    for i, payload in enumerate(payloads):
        try:
            tables.append(pa.ipc.open_stream(payload).read_all())
        except (pa.ArrowInvalid, OSError):
            bad.append(i)
    table = pa.concat_tables(tables, promote_options="default") if tables else None
    return table, bad


class PredictionSpool:
    """The ``prediction_spool`` table of one metadata database."""

    def __init__(
        self, db: Database, *, lease_seconds: float = 120.0, max_rows: int = 200_000
    ) -> None:
        self._db = db
        self.lease_seconds = lease_seconds
        self.max_rows = max_rows

    def _dialect(self) -> Any:
        return postgresql if self._db.dialect == "postgresql" else sqlite

    # -- what server processes do -----------------------------------------------------

    def put(self, table: pa.Table, block_id: str) -> None:
        """Spool ``table`` as block ``block_id`` (a block already spooled is left as it is)."""
        stmt = (
            self._dialect()
            .insert(prediction_spool)
            .values(
                id=block_id,
                created_at=utcnow(),
                rows=table.num_rows,
                payload=encode(table),
                batch_id=None,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        with self._db.begin() as conn:
            conn.execute(stmt)

    def pending(self) -> tuple[int, int]:
        """(blocks, rows) waiting for the log."""
        q = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(prediction_spool.c.rows), 0))
        with self._db.connect() as conn:
            blocks, rows = conn.execute(q).one()
        return int(blocks), int(rows)

    def has_pending(self) -> bool:
        return spooled(self._db)

    # -- what the flush job (and readers) do ----------------------------------------------

    def flush(self, write: LogWriter, *, wait: float = 0.0) -> int:
        """Move every spooled block into the log; returns the rows moved.

        Returns 0 without writing when another flush holds the lease for longer than
        ``wait`` seconds (it is moving the same blocks).

        Raises:
            LeaseLost: the lease expired during this flush (what was written stays
                written; the next flush finishes the rest).
        """
        if not self.has_pending():  # the common case of a reader: one indexed read
            return 0
        holder = uuid.uuid4().hex
        if not self._acquire(holder, wait):
            return 0
        try:
            moved = 0
            for left in self._left_by_dead_flushes():
                moved += self._move(holder, write, left)
            while (batch_id := self._mark_next(holder)) is not None:
                moved += self._move(holder, write, batch_id)
            return moved
        finally:
            self._release(holder)

    def _left_by_dead_flushes(self) -> list[str]:
        q = sa.select(prediction_spool.c.batch_id).where(prediction_spool.c.batch_id.is_not(None))
        with self._db.connect() as conn:
            return sorted({r[0] for r in conn.execute(q.distinct())})

    def _mark_next(self, holder: str) -> str | None:
        """Give the oldest blocks (up to ``max_rows`` rows, one block at least) a batch id."""
        q = (
            sa.select(prediction_spool.c.id, prediction_spool.c.rows)
            .where(prediction_spool.c.batch_id.is_(None))
            .order_by(prediction_spool.c.created_at, prediction_spool.c.id)
            .limit(10_000)
        )
        with self._db.begin() as conn:
            self._hold(conn, holder)
            ids: list[str] = []
            rows = 0
            for block_id, n in conn.execute(q):
                if ids and rows + n > self.max_rows:
                    break
                ids.append(block_id)
                rows += n
            if not ids:
                return None
            batch_id = f"spool-{uuid.uuid4().hex}"
            for chunk in _chunks(ids, 500):
                conn.execute(
                    prediction_spool.update()
                    .where(prediction_spool.c.id.in_(chunk))
                    .values(batch_id=batch_id)
                )
        return batch_id

    def _move(self, holder: str, write: LogWriter, batch_id: str) -> int:
        """Write the blocks of ``batch_id`` as one append under that id, then delete them."""
        q = (
            sa.select(prediction_spool.c.id, prediction_spool.c.payload)
            .where(prediction_spool.c.batch_id == batch_id)
            .order_by(prediction_spool.c.created_at, prediction_spool.c.id)
        )
        with self._db.connect() as conn:
            blocks = conn.execute(q).all()
        table, bad = decode([b.payload for b in blocks])
        for i in bad:
            log.error("prediction spool: block %s is not Arrow IPC; dropped", blocks[i].id)
        if table is not None:
            with self._db.begin() as conn:
                self._hold(conn, holder)  # renewed just before the write it guards
            write(table, batch_id)
        with self._db.begin() as conn:
            conn.execute(prediction_spool.delete().where(prediction_spool.c.batch_id == batch_id))
        return table.num_rows if table is not None else 0

    # -- the lease ----------------------------------------------------------------------

    def _acquire(self, holder: str, wait: float) -> bool:
        deadline = time.monotonic() + wait
        pause = 0.02
        while True:
            with self._db.begin() as conn:
                conn.execute(
                    self._dialect()
                    .insert(spool_lease)
                    .values(name=_LEASE, holder="", expires_at=_EPOCH)
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                if self._take(conn, holder, free_only=True):
                    return True
            if time.monotonic() + pause > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.25)

    def _take(self, conn: sa.Connection, holder: str, *, free_only: bool) -> bool:
        now = utcnow()
        mine = spool_lease.c.holder == holder
        cond = sa.or_(spool_lease.c.expires_at < now, mine) if free_only else mine
        stmt = (
            spool_lease.update()
            .where(spool_lease.c.name == _LEASE, cond)
            .values(holder=holder, expires_at=now + timedelta(seconds=self.lease_seconds))
            .returning(spool_lease.c.name)
        )
        # RETURNING, not rowcount: the PostgreSQL driver may answer -1
        return conn.execute(stmt).first() is not None

    def _hold(self, conn: sa.Connection, holder: str) -> None:
        if not self._take(conn, holder, free_only=False):
            raise LeaseLost("the prediction spool's lease expired during this flush")

    def _release(self, holder: str) -> None:
        with self._db.begin() as conn:
            conn.execute(
                spool_lease.update()
                .where(spool_lease.c.name == _LEASE, spool_lease.c.holder == holder)
                .values(expires_at=_EPOCH)
            )


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
