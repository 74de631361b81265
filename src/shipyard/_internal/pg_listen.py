"""Private ``LISTEN`` connections to PostgreSQL, for the two ways the platform reads them.

- ``listen`` + ``drain``: a connection the caller drains without blocking when it
  wants to know (the catalog change feed, ``shipyard.catalog.changes``).
- ``Listener``: a daemon thread that blocks on such a connection and calls back at
  each batch of notices (the job queue's wake-ups, ``shipyard.pipelines.backends.sql``).
  It waits in ``select`` (no polling), reconnects with a backoff after a lost
  connection, and stops at once on ``close``.

A notice is sent in the writer's transaction (``pg_notify``) and delivered at its
commit, a few tens of microseconds after it. A listener that was away misses what was
sent meanwhile: ``Listener`` then calls back with ``None`` ("anything may have
changed") once it is back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("shipyard.pg_listen")

#: Seconds between reconnection attempts: doubling from the first to the last.
BACKOFF = (0.05, 5.0)
#: TCP keepalives of a listening connection: a peer that vanished without closing
#: the socket (a network partition, a host gone) is noticed within about 20 s.
_KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5}


def listen(url: sa.URL, channel: str, *, connect_timeout: float = 5.0) -> Any:
    """A new autocommit psycopg connection that listens on ``channel`` (an identifier).

    Raises:
        psycopg.Error: the server cannot be reached.
    """
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = psycopg.connect(
        dsn, autocommit=True, connect_timeout=max(1, int(connect_timeout)), **_KEEPALIVE
    )
    try:
        conn.execute(f"LISTEN {channel}")
    except BaseException:
        conn.close()
        raise
    return conn


def drain(conn: Any) -> list[str]:
    """The payloads of the notices received so far (without blocking).

    Raises:
        psycopg.OperationalError: the connection is broken (close it and listen again).
    """
    from psycopg import OperationalError
    from psycopg.pq import ConnStatus

    pg = conn.pgconn
    pg.consume_input()
    out = []
    while (notice := pg.notifies()) is not None:
        out.append(notice.extra.decode())
    if pg.status != ConnStatus.OK:  # the server closed it after its last message
        raise OperationalError("the listening connection was closed by the server")
    return out


def close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):  # it may be broken already
        conn.close()


class Listener:
    """A daemon thread listening on ``channel``; ``on_notices(payloads)`` at every batch.

    ``on_notices(None)``: the listener was disconnected and is back; notices sent
    meanwhile are lost. ``on_notices([])``: the wait timed out (``timeout()`` seconds,
    asked before each wait: a caller with something due sooner asks to be called then).
    The callback runs on the listener's thread; what it raises is logged, never fatal.
    """

    def __init__(
        self,
        url: sa.URL,
        channel: str,
        on_notices: Callable[[list[str] | None], None],
        *,
        timeout: Callable[[], float] = lambda: 60.0,
        name: str = "pg-listen",
    ) -> None:
        self._url, self._channel = url, channel
        self._on_notices, self._timeout = on_notices, timeout
        self._stop = threading.Event()
        self._waker_r, self._waker_w = os.pipe()  # close() ends the wait at once
        self._conn: Any = None
        self._fd = -1
        self._delay, self._connected_before = BACKOFF[0], False
        #: Set while connected and listening (tests and benches wait on it).
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and close its connection (idempotent)."""
        if self._stop.is_set():
            return
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._waker_w, b"x")
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self._thread.is_alive():
            return  # still closing its connection: it is a daemon, leave it the pipe
        for fd in (self._waker_r, self._waker_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def backend_pid(self) -> int | None:
        """The server process of the listening connection (``None`` while away)."""
        conn = self._conn
        return None if conn is None else conn.info.backend_pid

    def _run(self) -> None:
        self._delay, self._connected_before = BACKOFF[0], False
        with selectors.DefaultSelector() as sel:
            sel.register(self._waker_r, selectors.EVENT_READ)
            while not self._stop.is_set():
                try:
                    self._step(sel)
                except Exception:  # a bug here must not end the wake-ups for good
                    log.exception("the %s listener failed, reconnecting", self._channel)
                    if self._conn is not None:
                        self._disconnect(sel)
                    self._stop.wait(BACKOFF[1])
            if self._conn is not None:
                self._disconnect(sel)

    def _step(self, sel: selectors.BaseSelector) -> None:
        """Connect if away, then wait for notices once."""
        if self._conn is None:
            if not self._connect(sel):
                self._stop.wait(self._delay)
                self._delay = min(self._delay * 2, BACKOFF[1])
                return
            self._delay = BACKOFF[0]
            if self._connected_before:
                self._call(None)  # notices sent while away are lost
            self._connected_before = True
        ready = sel.select(max(0.0, self._timeout()))
        if self._stop.is_set():
            return
        fds = [key.fd for key, _ in ready]
        if self._waker_r in fds:  # not a stop (a forked child's close): empty it
            with contextlib.suppress(OSError):
                os.read(self._waker_r, 512)
        if self._fd not in fds:
            self._call([])  # timed out
            return
        try:
            payloads = drain(self._conn)
        except Exception as exc:
            log.warning("lost the %s listener, reconnecting: %s", self._channel, exc)
            self._disconnect(sel)
            return
        self._call(payloads)

    def _connect(self, sel: selectors.BaseSelector) -> bool:
        try:
            conn = listen(self._url, self._channel)
        except Exception as exc:
            log.warning("cannot listen on %s: %s", self._channel, exc)
            return False
        self._conn, self._fd = conn, conn.fileno()
        sel.register(self._fd, selectors.EVENT_READ)
        self.listening.set()
        return True

    def _disconnect(self, sel: selectors.BaseSelector) -> None:
        self.listening.clear()
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(self._fd)
        close_quietly(self._conn)
        self._conn = None

    def _call(self, payloads: list[str] | None) -> None:
        try:
            self._on_notices(payloads)
        except Exception:
            log.exception("a %s listener callback failed", self._channel)
