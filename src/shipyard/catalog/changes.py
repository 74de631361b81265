"""Whether catalog assets of some kinds changed, answered in microseconds.

A reader that caches something built from the catalog (the feature store's online
read plans) asks for the ``fingerprint`` of the kinds it depends on at every use
and rebuilds when it moved, so a change committed by any process is seen by the
next read, with no polling interval. The fingerprint itself is a query (the count
and newest ``updated_at`` of those kinds' assets), so it is only run when a cheap
signal says that something may have changed:

- SQLite: ``PRAGMA data_version`` on a private connection (about 3 µs). It moves
  whenever any other connection, in this process or another, commits.
- PostgreSQL: every catalog write also sends ``NOTIFY shipyard_catalog, '<kind>'``
  in its transaction (delivered at commit). A private ``LISTEN`` connection is
  drained without blocking (under 1 µs); only a notice for a watched kind counts.
  A notice reaches the listener some 20 µs after the writer's commit returns.

The signal is always read before the fingerprint, so a commit that lands between
the two is caught by the next call. If the listening connection is lost, every
call queries until it is back; if the catalog cannot be reached at all,
``fingerprint`` returns ``None`` and callers keep what they have.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.db import Database
from shipyard._internal.pg_listen import close_quietly, drain, listen
from shipyard.catalog.tables import assets

log = logging.getLogger("shipyard.catalog.changes")

CHANNEL = "shipyard_catalog"
_RECONNECT_SECONDS = 1.0


def announce(conn: Connection, kind: str) -> None:
    """Tell listeners that an asset of ``kind`` changed (at commit; PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, kind)))


def _fingerprint_sql(kinds: Sequence[str]) -> sa.Select[Any]:
    return sa.select(sa.func.count(), sa.func.max(assets.c.updated_at)).where(
        assets.c.kind.in_(kinds)
    )


class ChangeFeed:
    """One per process and metadata database; thread-safe."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[Hashable, Hashable]] = {}
        self._signal: _Signal = _SqliteSignal(db) if db.dialect == "sqlite" else _PostgresSignal(db)

    def fingerprint(self, kinds: tuple[str, ...]) -> Hashable | None:
        """A value that differs whenever an asset of ``kinds`` was created, changed or deleted."""
        with self._lock:
            try:
                stamp = self._signal.stamp(kinds)
                hit = self._cache.get(kinds)
                if hit is not None and hit[0] == stamp:
                    return hit[1]
                fp = self._signal.query(kinds)
            except (sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
                log.warning("catalog change check failed: %s", exc)
                return None
            self._cache[kinds] = (stamp, fp)
            return fp

    def stamp(self, kinds: tuple[str, ...]) -> Hashable | None:
        """The cheap signal alone: a value that moves whenever ``kinds`` may have changed.

        On SQLite it moves on any commit by another connection; ``None`` when the
        database cannot be asked (callers then treat everything as changed).
        """
        with self._lock:
            try:
                return self._signal.stamp(kinds)
            except (sqlite3.Error, sa.exc.SQLAlchemyError) as exc:
                log.warning("catalog change check failed: %s", exc)
                return None

    def close(self) -> None:
        with self._lock:
            self._signal.close()


class _Signal(Protocol):
    def stamp(self, kinds: tuple[str, ...]) -> Hashable:
        """A value that moves whenever an asset of ``kinds`` may have changed (cheap)."""

    def query(self, kinds: tuple[str, ...]) -> Hashable:
        """The fingerprint itself (a query)."""

    def close(self) -> None: ...


class _SqliteSignal:
    def __init__(self, db: Database) -> None:
        self._db = db
        path = db.engine.url.database
        self._conn = (
            sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            if path and path != ":memory:"
            else None  # a private connection would see another database
        )
        self._calls = 0

    def stamp(self, kinds: tuple[str, ...]) -> Hashable:
        if self._conn is None:
            self._calls += 1
            return self._calls
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def query(self, kinds: tuple[str, ...]) -> Hashable:
        if self._conn is None:
            with self._db.connect() as conn:
                return tuple(conn.execute(_fingerprint_sql(kinds)).one())
        marks = ", ".join("?" * len(kinds))
        sql = f"SELECT count(*), max(updated_at) FROM assets WHERE kind IN ({marks})"
        return tuple(self._conn.execute(sql, kinds).fetchone())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


class _PostgresSignal:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen: dict[str, int] = {}  # kind -> notices received
        self._epoch = 0  # moves on every call while not listening
        self._listener: Any = None
        self._next_try = 0.0
        self._listen()

    def _listen(self) -> None:
        self._next_try = time.monotonic() + _RECONNECT_SECONDS
        try:
            self._listener = listen(self._db.engine.url, CHANNEL)
        except Exception as exc:
            log.warning("cannot listen for catalog changes: %s", exc)

    def stamp(self, kinds: tuple[str, ...]) -> Hashable:
        if self._listener is None and time.monotonic() >= self._next_try:
            self._listen()
        if self._listener is None:
            self._epoch += 1
            return self._epoch
        try:
            for kind in drain(self._listener):
                self._seen[kind] = self._seen.get(kind, 0) + 1
        except Exception as exc:  # the connection broke: query until it is back
            log.warning("lost the catalog change listener: %s", exc)
            self._drop()
            self._epoch += 1
            return self._epoch
        return (self._epoch, *(self._seen.get(k, 0) for k in kinds))

    def query(self, kinds: tuple[str, ...]) -> Hashable:
        with self._db.connect() as conn:
            return tuple(conn.execute(_fingerprint_sql(kinds)).one())

    def _drop(self) -> None:
        if self._listener is not None:
            close_quietly(self._listener)
            self._listener = None

    def close(self) -> None:
        self._drop()
