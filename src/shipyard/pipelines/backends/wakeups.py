"""Waking idle workers when jobs become claimable, instead of at their next poll.

- **This process** (SQLite and PostgreSQL): a transaction that queued jobs is marked,
  and its commit (an engine ``commit`` event) sets the event of every idle worker of
  the process that watches one of those pools.
- **Other processes** (PostgreSQL, ``jobs.notify``): the same transaction sends
  ``NOTIFY shipyard_jobs, '<pool>'`` (delivered at its commit); a process with idle
  workers holds one ``LISTEN`` connection, waited on by a daemon thread
  (``shipyard._internal.pg_listen.Listener``) that sets the events of the pool's
  watchers. A retry queued with a backoff announces ``'<pool> <unix time due>'``; the
  listener sets the events when it is due. After a lost connection the listener
  reconnects with a backoff and wakes every watcher once (notices sent meanwhile are
  lost). The process's own notices come back too: they wake its workers a second time
  after the commit, which the ``commit`` event (fired just before the commit) cannot
  promise.

A wake-up only saves the wait: a worker still polls, so a lost notice delays a job
by one poll interval at most.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
import weakref
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.db import Database
from shipyard._internal.pg_listen import Listener

CHANNEL = "shipyard_jobs"
#: Retries waited for at most (a flood of failures cannot grow the heap; polls catch
#: the rest), and the longest wait of the listener without a notice.
_MAX_DUE = 10_000
_MAX_WAIT = 60.0


class JobWakeups:
    """The idle workers of one queue object, and how they are woken (thread-safe)."""

    def __init__(self, db: Database, *, notify: bool = True) -> None:
        self._db = db
        self._notify = notify and db.dialect == "postgresql"
        self._lock = threading.Lock()
        #: event -> the pools its worker claims from (``None``: every pool)
        self._watchers: weakref.WeakKeyDictionary[threading.Event, frozenset[str] | None] = (
            weakref.WeakKeyDictionary()
        )
        self._due: list[tuple[float, str]] = []  # (unix time, pool), a heap
        self._listener: Listener | None = None
        self._pid = os.getpid()
        self._closed = False
        self._flag = f"shipyard.jobs.enqueued.{id(self)}"
        sa.event.listen(db.engine, "commit", self._committed)
        sa.event.listen(db.engine, "rollback", self._rolled_back)

    @property
    def listener(self) -> Listener | None:
        """The ``LISTEN`` thread of this process (PostgreSQL, once a worker watched)."""
        return self._listener

    def watch(self, wake: threading.Event, pools: Iterable[str] | None = None) -> None:
        with self._lock:
            self._watchers[wake] = None if pools is None else frozenset(pools)
            if not self._notify or self._closed:
                return
            if self._listener is None or self._pid != os.getpid():  # none yet, or forked
                self._pid = os.getpid()
                self._listener = Listener(
                    self._db.engine.url,
                    CHANNEL,
                    self._on_notices,
                    timeout=self._next_due,
                    name="job-wakeups",
                )
                self._listener.start()

    def unwatch(self, wake: threading.Event) -> None:
        with self._lock:
            self._watchers.pop(wake, None)

    def queued(self, conn: Connection, pools: Iterable[str], due: float | None = None) -> None:
        """In the transaction that made jobs of ``pools`` claimable (at ``due``, a unix
        time, for a retry's backoff): wake the watchers of those pools at its commit."""
        pools = set(pools)
        if due is None:
            conn.info.setdefault(self._flag, set()).update(pools)
        if self._notify:
            for pool in sorted(pools):
                payload = pool if due is None else f"{pool} {due:.3f}"
                conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))

    def wake(self, pools: Iterable[str] | None) -> None:
        """Set the events of the watchers of ``pools`` (``None``: of every watcher)."""
        wanted = None if pools is None else frozenset(pools)
        with self._lock:
            events = [
                e
                for e, theirs in self._watchers.items()
                if wanted is None or theirs is None or not wanted.isdisjoint(theirs)
            ]
        for event in events:
            event.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        for name, fn in (("commit", self._committed), ("rollback", self._rolled_back)):
            if sa.event.contains(self._db.engine, name, fn):
                sa.event.remove(self._db.engine, name, fn)

    # -- this process ----------------------------------------------------------------

    def _committed(self, conn: Connection) -> None:
        pools = conn.info.pop(self._flag, None)
        if pools:
            self.wake(pools)

    def _rolled_back(self, conn: Connection) -> None:
        conn.info.pop(self._flag, None)

    # -- other processes (the listener's thread) -------------------------------------

    def _on_notices(self, payloads: list[str] | None) -> None:
        if payloads is None:  # reconnected: what was announced meanwhile is unknown
            self.wake(None)
            return
        now = time.time()
        pools: set[str] = set()
        with self._lock:
            for payload in payloads:
                pool, _, at = payload.partition(" ")
                due = _float(at)
                if due > now and len(self._due) < _MAX_DUE:
                    heapq.heappush(self._due, (due, pool))
                else:
                    pools.add(pool)
            while self._due and self._due[0][0] <= now:
                pools.add(heapq.heappop(self._due)[1])
        if pools:
            self.wake(pools)

    def _next_due(self) -> float:
        """Seconds the listener may wait: until the next retry is due."""
        with self._lock:
            if not self._due:
                return _MAX_WAIT
            return min(_MAX_WAIT, self._due[0][0] - time.time())


def _float(text: str) -> float:
    try:
        return float(text) if text else 0.0
    except ValueError:
        return 0.0
