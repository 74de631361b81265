"""Shadow scoring off the request path: a bounded queue and one thread that scores in batches.

The request thread only enqueues (a full queue drops the copy and counts it).
The worker waits ``linger`` seconds after the first job, then scores every queued
request of a deployment in one model call per shadow variant, which keeps the
time it holds the interpreter, and so its effect on live requests, small.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.serving.runtime import ActiveDeployment, VariantRuntime

Job = tuple["ActiveDeployment", str, list[dict[str, Any]], dict[str, list[Any]], str]
#: ``emit(active, variant, request_id, rows, data, predictions, latency_ms, error, key)``
Emit = Callable[..., None]


class ShadowScorer:
    def __init__(
        self,
        emit: Emit,
        record: Callable[[str, str, float, bool], None],
        score: Callable[[VariantRuntime, dict[str, list[Any]], ActiveDeployment], list[Any]],
        *,
        maxsize: int = 4096,
        linger: float = 0.05,
        max_batch: int = 1024,
    ) -> None:
        self._emit = emit
        self._record = record
        self._score = score
        self._q: queue.Queue[Job | None] = queue.Queue(maxsize=maxsize)
        self.linger = linger
        self.max_batch = max_batch
        self.dropped = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Job) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, daemon=True, name="shipyard-serving-shadow"
                    )
                    self._thread.start()
        try:
            self._q.put_nowait(job)
        except queue.Full:
            self.dropped += 1

    def _loop(self) -> None:
        while True:
            first = self._q.get()
            jobs: list[Job] = []
            stop = first is None
            if first is not None:
                jobs.append(first)
                time.sleep(self.linger)
                while len(jobs) < self.max_batch:
                    try:
                        job = self._q.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    jobs.append(job)
            try:
                self._score_all(jobs)
            finally:
                for _ in range(len(jobs) + (1 if stop else 0)):
                    self._q.task_done()
            if stop:
                return

    def _score_all(self, jobs: list[Job]) -> None:
        groups: dict[int, list[Job]] = {}
        for job in jobs:
            groups.setdefault(id(job[0]), []).append(job)
        for group in groups.values():
            active = group[0][0]
            merged: dict[str, list[Any]] = {}
            for job in group:
                for col, values in job[3].items():
                    merged.setdefault(col, []).extend(values)
            for vr in active.shadows:
                self._score_group(active, vr, group, merged)

    def _score_group(
        self,
        active: ActiveDeployment,
        vr: VariantRuntime,
        group: list[Job],
        merged: dict[str, list[Any]],
    ) -> None:
        t0 = time.perf_counter()
        error: str | None = None
        predictions: list[Any] | None = None
        try:
            predictions = self._score(vr, merged, active)
        except Exception as exc:  # a shadow failure is logged, never surfaced
            error = repr(exc)[:500]
        latency = (time.perf_counter() - t0) * 1000
        offset = 0
        for _, request_id, rows, data, key in group:
            n = len(rows)
            mine = predictions[offset : offset + n] if predictions is not None else None
            offset += n
            self._record(active.deployment.name, vr.variant.name, latency, error is not None)
            self._emit(active, vr, request_id, rows, data, mine, latency, error, key, True)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until queued shadow requests are scored (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._q.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._q.put(None, timeout=1)
            self._thread.join(timeout=5)
