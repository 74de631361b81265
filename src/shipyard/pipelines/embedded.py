"""The embedded worker: ``shipyard serve`` runs jobs itself, so one machine needs nothing else.

With ``jobs.embedded`` (the default), the server process runs ``jobs.embedded_workers``
worker loops and one pipeline scheduler on threads beside the HTTP server: a long
operation's 202 job, a pipeline run and a cron tick all run without ``shipyard
worker``. When the server shuts down (SIGTERM, SIGINT) the workers drain: they finish
the jobs they hold and claim no new one. Turn it off (``jobs.embedded: false`` or
``SHIPYARD_JOBS_EMBEDDED=false``) when separate ``shipyard worker`` processes run the
queue. The threads run steps in-process (a ``timeout`` cannot interrupt Python code off
the main thread; steps that need limits ask for the ``subprocess`` executor).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from shipyard.pipelines.scheduler import Scheduler, run_scheduler
from shipyard.pipelines.worker import Worker, WorkerHost

log = logging.getLogger(__name__)


class EmbeddedWorkers:
    """Worker loops (and a scheduler) on daemon threads of this process.

    Example:
        >>> with EmbeddedWorkers(platform):
        ...     uvicorn.run(app)          # jobs run meanwhile; leaving drains them
    """

    def __init__(
        self,
        platform: WorkerHost,
        *,
        workers: int = 1,
        scheduler: bool = True,
        pools: tuple[str, ...] = ("default",),
    ) -> None:
        self._platform = platform
        self.workers = [platform.worker(pools=pools) for _ in range(max(0, workers))]
        self._threads: list[threading.Thread] = []
        self._want_scheduler = scheduler
        self.scheduler: Scheduler | None = None

    def start(self) -> EmbeddedWorkers:
        for i, worker in enumerate(self.workers):
            t = threading.Thread(target=self._run, args=(worker,), name=f"job-worker-{i}")
            t.daemon = True  # a drain that outlives ``stop``'s timeout must not hang the exit
            t.start()
            self._threads.append(t)
        if self._want_scheduler:
            self.scheduler = run_scheduler(self._platform.pipelines.scheduler())
        return self

    @staticmethod
    def _run(worker: Worker) -> None:
        try:
            worker.run()
        except Exception:  # the server keeps serving; the jobs wait for another worker
            log.exception("embedded job worker %s stopped", worker.worker_id)

    def stop(self, timeout: float = 60.0) -> bool:
        """Drain: finish held jobs, claim none. True when every worker ended in time."""
        if self.scheduler is not None:
            self.scheduler.stop()
        for worker in self.workers:
            worker.drain()
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def __enter__(self) -> EmbeddedWorkers:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
