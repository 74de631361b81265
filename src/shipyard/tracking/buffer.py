"""Asynchronous, batched metric logging: ``log_metric`` never waits for the database.

Metrics queue in memory; one background thread writes them in batches (one
transaction per run per batch). ``flush()`` waits until everything queued so
far is written; it runs on run end, on ``Platform.close`` and at interpreter
exit, so nothing is lost when the process exits normally. A failed write is
raised by the next ``flush()`` (and so by the run's end).
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable

from shipyard.errors import ShipyardError
from shipyard.tracking.models import Metric

Sink = Callable[[str, list[Metric]], object]


class MetricBuffer:
    def __init__(self, sink: Sink, *, interval: float = 0.2, max_batch: int = 2000) -> None:
        self._sink = sink
        self._interval = interval
        self._max_batch = max_batch
        self._pending: dict[str, list[Metric]] = defaultdict(list)
        self._count = 0
        self._cond = threading.Condition()
        self._writing = False
        self._flushing = 0  # flush() calls waiting: the writer skips its batching pause
        self._errors: list[BaseException] = []
        self._closed = False
        self._thread: threading.Thread | None = None
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)

    def add(self, run_id: str, metric: Metric) -> None:
        with self._cond:
            if self._closed:
                raise ShipyardError("the metric buffer is closed")
            self._pending[run_id].append(metric)
            self._count += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="shipyard-metrics", daemon=True
                )
                self._thread.start()
            if self._count >= self._max_batch:
                self._cond.notify_all()

    def _take(self) -> dict[str, list[Metric]]:
        batch, self._pending = self._pending, defaultdict(list)
        self._count = 0
        return batch

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._count and not self._closed:
                    self._cond.wait()
                if not self._count and self._closed:
                    return
                if self._count < self._max_batch and not self._closed and not self._flushing:
                    self._cond.wait(self._interval)
                batch = self._take()
                self._writing = True
            self._write(batch)
            with self._cond:
                self._writing = False
                self._cond.notify_all()

    def _write(self, batch: dict[str, list[Metric]]) -> None:
        for run_id, items in batch.items():
            try:
                self._sink(run_id, items)
            except BaseException as exc:
                with self._cond:
                    self._errors.append(exc)

    def flush(self) -> None:
        """Block until every metric queued so far is written.

        Raises:
            ShipyardError: the first error a background write hit since the last flush.
        """
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                self._flushing += 1
                try:
                    self._cond.notify_all()
                    while self._count or self._writing:
                        self._cond.notify_all()
                        self._cond.wait(0.05)
                finally:
                    self._flushing -= 1
            leftover = self._take() if self._count else {}
        if leftover:  # the writer thread is gone (interpreter exit): write inline
            self._write(leftover)
        with self._cond:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()


def _close_at_exit(ref: weakref.ReferenceType[MetricBuffer]) -> None:
    buffer = ref()
    if buffer is not None:
        buffer.close()
