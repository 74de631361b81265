"""Worker calls from an event loop, coalesced: one worker call for the requests that wait.

The servers answer predictions on their event loop. A blocking call to a model's
worker would stop the loop for the whole round trip, so one server process would
score one request at a time and leave its core idle while the worker works (and the
worker idle while the server parses the next request). Instead, ``submit`` queues the
call and returns a future; the loop goes on with other requests and the worker's
answer is read by a reader on the loop when it arrives.

Calls that queue while a call is in flight go out together when it returns: the
scikit-learn fast-path matrices of those requests are stacked into one matrix
(``fast_batch``), scored in one model call and split back in order, each request
getting its own rows. If that one call fails, the worker scores each request's rows
alone, so a request with a bad row fails by itself (see ``_worker_main._batch``).
Frames of other models go one call each: nothing says a generic model scores a row
the same way whatever the other rows of its input.

A dead or hung worker fails the calls of the batch in flight with ``BackendUnavailable``
(503) and nothing else; the next batch starts a new worker (on the loop, as a blocking
call did). Threads that call the worker directly (shadow scoring, batch jobs) take its
lock; one that finds an event-loop call in flight reads that answer itself and hands it
over (``settle``), then wakes the loops whose calls queued meanwhile (``kick_all``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.errors import BackendUnavailable
from shipyard.serving.worker import (
    _error_from,
    _exit_text,
    decode_array,
    decode_reply,
    encode_call,
)

if TYPE_CHECKING:
    from shipyard.serving.worker import Channel, ModelWorker

#: Rows one coalesced call may hold (further requests wait for the next call).
MAX_BATCH_ROWS = 4096


@dataclass(slots=True)
class _Call:
    op: str
    payload: Any
    rows: int
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


@dataclass(slots=True)
class _InFlight:
    calls: list[_Call]
    loop: asyncio.AbstractEventLoop
    deadline: float
    timer: asyncio.TimerHandle | None = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():  # the request was cancelled (client gone)
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class Coalescer:
    """The event-loop side of one ``ModelWorker`` (shared by every loop that uses it).

    State changes happen under the worker's lock, which is never held across an
    ``await``: a thread or loop that cannot take it at once leaves the work to the holder.
    """

    def __init__(self, worker: ModelWorker, max_rows: int = MAX_BATCH_ROWS) -> None:
        self.worker = worker
        self.max_rows = max_rows
        self.inflight: _InFlight | None = None
        self._pending: dict[asyncio.AbstractEventLoop, deque[_Call]] = {}
        #: The loop and channel a reader is registered for. It stays while that loop keeps
        #: using this worker (an epoll registration per call costs two system calls).
        self._reader: tuple[asyncio.AbstractEventLoop, Channel] | None = None
        #: Worker calls made and requests they carried (tests, stats).
        self.calls = 0
        self.requests = 0

    # -- the loop's side -------------------------------------------------------------------

    async def submit(self, op: str, payload: Any, rows: int) -> Any:
        """The worker's answer for ``payload`` (``op``: ``fast`` matrix or ``predict`` frame).

        Raises:
            BackendUnavailable: the worker died, hung or could not start (503).
            ModelError: the model raised on this request's rows.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.setdefault(loop, deque()).append(_Call(op, payload, rows, future, loop))
        self._kick(loop)
        return await future

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send this loop's queued calls if the worker is free (on ``loop``'s thread)."""
        if self.inflight is not None or not self._pending.get(loop):
            return
        lock = self.worker._lock
        if not lock.acquire(blocking=False):
            return  # a thread holds the worker; it kicks us when it lets go
        try:
            if self.inflight is None:
                queue = self._pending.get(loop)
                if queue:
                    self._send(self._take(loop, queue), loop)
        finally:
            lock.release()

    def _take(self, loop: asyncio.AbstractEventLoop, queue: deque[_Call]) -> list[_Call]:
        calls = [queue.popleft()]
        if calls[0].op == "fast":
            rows = calls[0].rows
            while queue and queue[0].op == "fast" and rows + queue[0].rows <= self.max_rows:
                rows += queue[0].rows
                calls.append(queue.popleft())
        if not queue:
            self._pending.pop(loop, None)
        return calls

    def _send(self, calls: list[_Call], loop: asyncio.AbstractEventLoop) -> None:
        """One worker call for ``calls`` (lock held); its answer comes to ``_on_readable``."""
        w = self.worker
        timeout = w.options.call_timeout
        try:
            if len(calls) == 1:
                blob = encode_call(calls[0].op, calls[0].payload)
            else:
                stacked = np.vstack([c.payload for c in calls])
                blob = encode_call("fast_batch", stacked, [c.rows for c in calls])
            w._ensure()  # a new worker after a death: the load blocks this loop, as before
            conn = w._conn
            assert conn is not None
            # the worker is idle, so its socket's buffer is empty: a small call fits at once
            conn.send(blob, 0.0 if len(blob) < 65536 else timeout)
        except OSError as exc:
            code = w._stop()
            self._deliver(calls, self._died(code, exc))
            return
        except Exception as exc:  # could not start the worker, or not stackable
            self._deliver(calls, exc)
            return
        self.calls += 1
        self.requests += len(calls)
        flight = _InFlight(calls, loop, time.monotonic() + timeout)
        flight.timer = loop.call_later(timeout, self._on_timeout, flight)
        self.inflight = flight
        self._arm(loop, conn)

    def _arm(self, loop: asyncio.AbstractEventLoop, conn: Channel) -> None:
        reader = self._reader
        if reader is not None and reader[0] is loop and reader[1] is conn:
            return
        self._disarm()
        # a new worker's socket may have the number of a closed one: drop any stale entry
        _remove_reader(loop, conn.fileno())
        self._reader = (loop, conn)
        loop.add_reader(conn.fileno(), self._on_readable, loop, conn)

    def _disarm(self) -> None:
        if self._reader is None:
            return
        loop, conn = self._reader
        self._reader = None
        fd = conn.fileno()  # -1 once closed (the kernel dropped its registration then)
        if _running_loop() is loop:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
        elif not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_remove_reader, loop, fd)

    def release(self, conn: Channel) -> bool:
        """Unregister the reader of ``conn`` before it is closed (lock held); ``True``:
        its loop closes it (a selector must not keep a closed descriptor's number, which
        the next socket of the process, a client's say, may get)."""
        reader = self._reader
        if reader is None or reader[1] is not conn:
            return False
        self._reader = None
        loop = reader[0]
        if _running_loop() is loop or loop.is_closed():
            _remove_reader(loop, conn.fileno())
            return False
        try:
            loop.call_soon_threadsafe(_remove_and_close, loop, conn)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    def _on_readable(self, loop: asyncio.AbstractEventLoop, conn: Channel) -> None:
        lock = self.worker._lock
        if not lock.acquire(blocking=False):
            return  # a thread holds the worker and reads its own answer
        try:
            flight = self.inflight
            if flight is None or flight.loop is not loop or self.worker._conn is not conn:
                # no call of this loop awaits an answer: the end of a dead worker's channel
                if self._reader is not None and self._reader[1] is conn:
                    self._disarm()
                else:
                    _remove_reader(loop, conn.fileno())
                return
            try:
                blob = conn.try_recv()
            except (EOFError, OSError, ValueError) as exc:
                self._finish(flight)
                self._deliver(flight.calls, self._died(self.worker._stop(), exc))
                return
            if blob is None:
                return  # the rest of the answer is still on its way
            self._finish(flight)
            self._answer(flight.calls, blob)
        finally:
            lock.release()
            self.kick_all()

    def _on_timeout(self, flight: _InFlight) -> None:
        if self.inflight is not flight:
            return
        lock = self.worker._lock
        if not lock.acquire(blocking=False):
            return  # the holder settles this call with the same deadline
        try:
            if self.inflight is flight:
                self._finish(flight)
                self.worker._stop()
                self._deliver(flight.calls, self._hung())
        finally:
            lock.release()
            self.kick_all()

    # -- shared ---------------------------------------------------------------------------

    def settle(self) -> None:
        """Read the in-flight call's answer now, blocking (a thread holding the worker's lock)."""
        flight = self.inflight
        if flight is None:
            return
        conn = self.worker._conn
        assert conn is not None
        try:
            blob = conn.recv(timeout=max(flight.deadline - time.monotonic(), 0.001))
        except TimeoutError:
            self._finish(flight)
            self.worker._stop()
            self._deliver(flight.calls, self._hung())
            return
        except (EOFError, OSError, ValueError) as exc:
            self._finish(flight)
            self._deliver(flight.calls, self._died(self.worker._stop(), exc))
            return
        self._finish(flight)
        self._answer(flight.calls, blob)

    def kick_all(self) -> None:
        """Send queued calls: at once for the current loop, by a wake-up for the others."""
        if self.inflight is not None or not self._pending:
            return
        here = _running_loop()
        for loop in list(self._pending):
            if loop is here:
                self._kick(loop)
            elif loop.is_closed():
                self._pending.pop(loop, None)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._kick, loop)

    def abort(self, exc: BaseException) -> None:
        """Fail the call in flight (the worker is closing; lock held)."""
        flight = self.inflight
        if flight is not None:
            self._finish(flight)
            self._deliver(flight.calls, exc)

    def _finish(self, flight: _InFlight) -> None:
        self.inflight = None
        if flight.timer is not None:
            if _running_loop() is flight.loop:
                flight.timer.cancel()
            elif not flight.loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    flight.loop.call_soon_threadsafe(flight.timer.cancel)

    def _answer(self, calls: list[_Call], blob: bytes) -> None:
        try:
            results = split_reply(blob, [c.rows for c in calls])
        except ValueError as exc:  # a broken answer: as in a blocking call, the worker goes
            self._deliver(calls, self._died(self.worker._stop(), exc))
            return
        for call, result in zip(calls, results, strict=True):
            self._deliver([call], result)

    def _deliver(self, calls: list[_Call], value: Any) -> None:
        here = _running_loop()
        for call in calls:
            if call.loop is here:
                _resolve(call.future, value)
            elif not call.loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    call.loop.call_soon_threadsafe(_resolve, call.future, value)

    def _died(self, code: int | None, exc: BaseException) -> BackendUnavailable:
        uri = self.worker.uri
        return BackendUnavailable(
            f"the worker of {uri} died ({_exit_text(code, exc)}); it restarts on the next call",
            model=uri,
        )

    def _hung(self) -> BackendUnavailable:
        uri = self.worker.uri
        return BackendUnavailable(
            f"the worker of {uri} did not answer within {self.worker.options.call_timeout:g} s;"
            " it restarts on the next call",
            model=uri,
        )


def _remove_and_close(loop: asyncio.AbstractEventLoop, conn: Channel) -> None:
    _remove_reader(loop, conn.fileno())
    with contextlib.suppress(OSError):
        conn.close()


def _remove_reader(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)


def split_reply(blob: bytes, counts: list[int]) -> list[Any]:
    """One result per request of a (coalesced) call: its rows, or the exception it raised.

    Raises:
        ValueError: the answer is malformed (the worker is then treated as broken).
    """
    header, payload = decode_reply(blob)
    if not header.get("ok"):
        err = _error_from(header)
        return [err] * len(counts)
    parts = header.get("parts")
    if parts is not None:  # scored request by request after the stacked call failed
        if not isinstance(parts, list) or len(parts) != len(counts):
            raise ValueError("a batch answer with the wrong number of parts")
        out: list[Any] = []
        start = 0
        for size in parts:
            sub, sub_payload = decode_reply(bytes(payload[start : start + int(size)]))
            start += int(size)
            out.append(decode_array(sub, sub_payload) if sub.get("ok") else _error_from(sub))
        return out
    arr = decode_array(header, payload)
    if len(counts) == 1:
        return [arr]
    if arr.ndim == 0 or arr.shape[0] != sum(counts):
        raise ValueError(f"a batch answer with {arr.shape[:1]} rows for {sum(counts)}")
    return list(np.split(arr, np.cumsum(counts)[:-1]))


__all__ = ["MAX_BATCH_ROWS", "Coalescer", "split_reply"]
