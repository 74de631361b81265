"""Workers: claim jobs, run them, heartbeat their leases, record the outcome.

``shipyard worker --processes N --pool default`` starts N worker processes. SIGTERM
(or SIGINT) drains: each finishes the jobs it holds and claims no new one.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shipyard._internal.ids import new_id
from shipyard._internal.service import listening
from shipyard.errors import BackendUnavailable, Conflict
from shipyard.pipelines.executors import Outcome, measured, run_inprocess, run_subprocess
from shipyard.pipelines.functions import JobContext, running
from shipyard.pipelines.models import Executor, Job, JobState
from shipyard.pipelines.run_lineage import StepAccess

if TYPE_CHECKING:
    from shipyard.config import JobSettings, Settings
    from shipyard.pipelines.pipeline_service import PipelineService
    from shipyard.pipelines.service import JobService

log = logging.getLogger(__name__)
#: Seconds without a job after which a worker polls at ``idle_poll_interval``.
IDLE_AFTER = 5.0


class WorkerHost(Protocol):
    """What a worker needs of a platform (``Platform`` is one; this package does not import it):
    the queue, the settings, and the pipelines whose runs a finished step advances."""

    @property
    def jobs(self) -> JobService: ...

    @property
    def pipelines(self) -> PipelineService: ...

    @property
    def settings(self) -> Settings: ...

    def worker(self, **options: Any) -> Worker:
        """A ``Worker`` wired to the host's collaborators (``Platform.worker``)."""
        ...


class RunObserver(Protocol):
    """OpenLineage run events for the jobs a worker runs (``LineageObserver`` is one)."""

    def started(self, action: str, *, principal: str, asset: str | None) -> Any: ...

    def completed(self, token: Any, *, asset: str | None, details: dict[str, Any]) -> None: ...

    def failed(self, token: Any, *, code: str) -> None: ...


class UsageRecorder(Protocol):
    """Where a worker meters what its jobs used (``UsageService`` is one)."""

    def record_jobs(self, records: list[dict[str, Any]]) -> Any: ...


#: Opens the project at a path, e.g. ``Platform.open`` (picklable: worker processes call it).
OpenPlatform = Callable[[str], AbstractContextManager[WorkerHost]]


class Worker:
    """One worker loop over a platform's queue (one job at a time per ``batch``).

    ``observer`` and ``usage`` are passed in by the composition root
    (``Platform.worker``); without them no run events are sent and nothing is metered.
    """

    def __init__(
        self,
        platform: WorkerHost,
        *,
        observer: RunObserver | None = None,
        usage: UsageRecorder | None = None,
        pools: Sequence[str] = ("default",),
        worker_id: str | None = None,
        lease_seconds: float | None = None,
        poll_interval: float = 0.05,
        idle_poll_interval: float = 0.25,
        batch: int = 1,
    ) -> None:
        self.platform = platform
        self.observer, self.usage = observer, usage
        self.queue = platform.jobs.queue
        self.settings = platform.settings.jobs
        self.pools = list(pools)
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.lease = lease_seconds or self.settings.lease_seconds
        self.poll_interval = poll_interval
        self.idle_poll_interval = max(poll_interval, idle_poll_interval)
        self.batch = max(1, batch)
        self.draining = threading.Event()
        self._stopped = threading.Event()
        self._held: dict[str, threading.Event] = {}
        self._held_lock = threading.Lock()
        self._last_requeue = 0.0
        self.processed = 0
        #: Set when jobs of our pools are queued (by this process; on PostgreSQL by any)
        #: or on a drain: an idle worker claims at once.
        self._wake = threading.Event()
        #: Jobs claimed in the transaction that recorded the last batch (the dependents
        #: it unblocked), run next without a claim of their own.
        self._next: list[Job] = []
        self._max_jobs: int | None = None
        self._retry_advance: list[str] = []
        #: What finished jobs used, written to the usage records after each batch.
        self._usage: list[dict[str, Any]] = []

    def drain(self, *_: Any) -> None:
        """Finish the jobs held now, claim no new one."""
        self.draining.set()
        self._wake.set()

    def run(self, *, max_jobs: int | None = None, idle_exit: float | None = None) -> int:
        """Loop until drained (or ``max_jobs`` ran, or idle ``idle_exit`` seconds)."""
        beat = threading.Thread(target=self._heartbeats, name="job-heartbeat", daemon=True)
        beat.start()
        self._max_jobs = max_jobs
        self.queue.watch(self._wake, self.pools)
        try:
            self._loop(max_jobs, idle_exit)
            self.draining.set()  # claim no more; run what the last completion claimed
            while self._next:
                held, self._next = self._next, []
                self.run_batch(held)
        finally:
            self.queue.unwatch(self._wake)
            self.draining.set()
            self._stopped.set()
            beat.join(timeout=5)
        return self.processed

    def _loop(self, max_jobs: int | None, idle_exit: float | None) -> None:
        wait, idle_since = 0.001, time.monotonic()
        while not self.draining.is_set():
            if max_jobs is not None and self.processed >= max_jobs:
                return
            jobs, self._next = self._next, []
            try:
                self._maybe_requeue()
                self._wake.clear()  # a commit from here on wakes the wait below
                jobs = jobs or self.queue.claim(
                    self.worker_id, self.pools, limit=self.batch, lease_seconds=self.lease
                )
            except BackendUnavailable as exc:  # the database is away: wait, don't die
                log.warning("cannot claim jobs: %s", exc.message)
                self.draining.wait(max(1.0, self.poll_interval))
                continue
            if not jobs:
                if idle_exit is not None and time.monotonic() - idle_since > idle_exit:
                    return
                self._wake.wait(wait)  # a job queued for our pools ends the wait
                # idle for a while: poll slower (an idle worker then costs < 1% of a core)
                slow = time.monotonic() - idle_since > IDLE_AFTER
                wait = min(wait * 2, self.idle_poll_interval if slow else self.poll_interval)
                continue
            self.run_batch(jobs)  # a drain finishes what is already claimed
            # idle from the end of the work: a retry due just after a long job is still claimed
            wait, idle_since = 0.001, time.monotonic()

    def _maybe_requeue(self) -> None:
        now = time.monotonic()
        if now - self._last_requeue >= self.lease / 2:
            self._last_requeue = now
            n = self.queue.requeue_expired()
            if n:
                log.warning("requeued %d job(s) whose lease expired", n)

    def run_batch(self, jobs: Sequence[Job]) -> None:
        """Run claimed jobs in order; successes are recorded together at the end (one
        transaction), each failure at once. A worker killed before the end leaves
        them running: their leases expire and they run again (at least once)."""
        done: list[tuple[str, Any, str | None]] = []
        ended: list[str] = []  # pipeline runs with a step that failed, advanced afterwards
        advanced: list[str] = []  # runs with a step that succeeded: advanced as it is recorded
        succeeded: list[Job] = []  # job.finished, announced in the completion transaction
        announced: list[Job] = []  # job.failed, announced after each is recorded
        ran_all = False
        try:
            for job in jobs:
                outcome = self._execute(job)
                if outcome.ok:
                    done.append((job.id, outcome.result, outcome.logs or None))
                    succeeded.append(job.model_copy(update={"state": JobState.SUCCEEDED}))
                    if job.run_id is not None:
                        advanced.append(job.run_id)
                else:
                    recorded = self._record(job, outcome)
                    if recorded is not None and recorded.done:
                        announced.append(recorded)
                        if job.run_id is not None:
                            ended.append(job.run_id)
            ran_all = True
        finally:
            if done:
                try:
                    self.queue.complete_many(
                        self.worker_id,
                        done,
                        then=lambda conn: self._recorded(succeeded, advanced, ran_all, conn),
                    )
                except BaseException:
                    self._next = []  # rolled back with the completion: not held
                    raise
            with self._held_lock:
                for job in jobs:
                    self._held.pop(job.id, None)
            self._flush_usage()
        self._announce(announced)
        retry, self._retry_advance = self._retry_advance, []
        self._advance(ended + retry)

    def _recorded(
        self, succeeded: Sequence[Job], run_ids: list[str], claim: bool, conn: Any
    ) -> None:
        """In the transaction that records a batch's successes: announce them, queue the
        steps they unblock, and (``claim``) take the next jobs, so a dependent step
        starts as its upstream is recorded, without a poll or a transaction of its own.
        A run that cannot be advanced here is left to ``_advance`` after the commit."""
        self._announce(succeeded, conn)
        engine = self.platform.pipelines.engine
        for run_id in dict.fromkeys(run_ids):
            try:
                with conn.begin_nested():
                    engine.advance(run_id, conn=conn)
            except Exception as exc:
                log.warning("pipeline run %s: not advanced with its step: %s", run_id, exc)
                self._retry_advance.append(run_id)
        left = None if self._max_jobs is None else self._max_jobs - self.processed
        if not claim or not run_ids or self.draining.is_set() or (left is not None and left < 1):
            return
        try:
            with conn.begin_nested():
                self._next = self.queue.claim(
                    self.worker_id,
                    self.pools,
                    limit=min(self.batch, left or self.batch),
                    lease_seconds=self.lease,
                    conn=conn,
                )
        except Exception as exc:  # the next claim of the loop takes them
            log.warning("cannot claim with the completion: %s", exc)

    def _announce(self, jobs: Sequence[Job], conn: Any = None) -> None:
        try:
            self.platform.jobs.announce(jobs, conn=conn)
        except Exception as exc:  # the jobs are recorded; an event lost is logged, not fatal
            log.warning("job lifecycle events not published: %s", exc)

    def _advance(self, run_ids: Sequence[str]) -> None:
        """Queue the steps that the ended ones unblock (the handoff), at once."""
        if not run_ids:
            return
        engine = self.platform.pipelines.engine
        for run_id in dict.fromkeys(run_ids):
            try:
                engine.advance(run_id)
            except Exception as exc:  # the scheduler's reconcile pass retries it
                log.warning("pipeline run %s: cannot advance: %s", run_id, exc)

    def _execute(self, job: Job) -> Outcome:
        stop = threading.Event()
        with self._held_lock:
            self._held[job.id] = stop
        run = _executor(job, self.settings)
        observer = self.observer  # OpenLineage run events, when configured
        seen = (
            observer.started("jobs.run", principal=job.created_by, asset=f"job:{job.target}")
            if observer is not None
            else None
        )
        project = str(self.platform.settings.project_dir)
        access = StepAccess()  # what an in-process step's platform calls touch
        with running(JobContext(project, job.created_by, job.id, job.team)), listening(access):
            outcome: Outcome = run(job, self.settings, stop)
        if outcome.access is not None:  # a child's or a Ray task's, sent with its result
            access.update(outcome.access)
        self.processed += 1
        if access and (job.run_id is not None or job.kind == "function"):
            try:
                self.platform.pipelines.engine.record_access(job, access)
            except Exception as exc:  # lineage lost is logged; the job's outcome stands
                log.warning("job %s: lineage not recorded: %s", job.id, exc)
        if outcome.cpu_seconds is not None:
            self._usage.append(_usage_of(job, outcome))
        if observer is not None and seen is not None:
            if outcome.ok:
                observer.completed(seen, asset=None, details={})
            else:
                observer.failed(seen, code=(outcome.error or "failed").splitlines()[0][:200])
        return outcome

    def _flush_usage(self) -> None:
        """Record what the jobs run since the last flush used (usage metering, issue #16)."""
        batch, self._usage = self._usage, []
        usage = self.usage
        if not batch or usage is None:
            return
        try:
            usage.record_jobs(batch)
        except Exception as exc:  # metering must never fail a job
            log.warning("usage of %d job(s) not recorded: %s", len(batch), exc)

    def run_job(self, job: Job) -> Job | None:
        """Run one claimed job and record its outcome (None when the lease was lost)."""
        try:
            recorded = self._record(job, self._execute(job))
        finally:
            with self._held_lock:
                self._held.pop(job.id, None)
            self._flush_usage()
        if recorded is not None and recorded.done:
            self._announce([recorded])
            if job.run_id is not None:
                self._advance([job.run_id])
        return recorded

    def _record(self, job: Job, outcome: Outcome) -> Job | None:
        try:
            if outcome.ok:
                return self.queue.complete(
                    job.id, self.worker_id, result=outcome.result, logs=outcome.logs or None
                )
            return self.queue.fail(
                job.id,
                self.worker_id,
                outcome.error or "failed",
                logs=outcome.logs or None,
                retry=outcome.retry,
            )
        except Conflict as exc:  # cancelled, or requeued after our lease expired
            log.warning("job %s: outcome not recorded: %s", job.id, exc.message)
            return None

    def _heartbeats(self) -> None:
        interval = max(0.05, self.lease / 3)
        while not self._stopped.wait(interval):  # beats on while a drain finishes
            with self._held_lock:
                held = list(self._held.items())
            for job_id, stop in held:
                try:
                    if not self.queue.heartbeat(job_id, self.worker_id, lease_seconds=self.lease):
                        stop.set()  # cancelled or lost: the executor kills the step
                except Exception as exc:
                    log.warning("heartbeat of job %s failed: %s", job_id, exc)


def _executor(job: Job, settings: JobSettings) -> Callable[..., Outcome]:
    """The executor the job asks for, unless ``jobs.executor`` names one for every job."""
    kind = Executor(settings.executor) if settings.executor else job.executor
    if kind == Executor.RAY:
        from shipyard.pipelines.ray_executor import run_ray

        return run_ray
    return _run_measured if kind == Executor.INPROCESS else run_subprocess


_run_measured = measured(run_inprocess)


def _usage_of(job: Job, outcome: Outcome) -> dict[str, Any]:
    action = job.args.get("action") if isinstance(job.args, dict) else None
    return {
        "team": job.team,
        "principal": job.created_by,
        "kind": "batch_scoring" if action == "serving.score_table" else "job",
        "resource": f"action:{action}" if isinstance(action, str) else f"job:{job.target}",
        "cpu_seconds": outcome.cpu_seconds or 0.0,
        "peak_memory_bytes": outcome.peak_memory_bytes or 0,
    }


def _worker_process(
    open_platform: OpenPlatform, project: str, pools: list[str], options: dict[str, Any]
) -> None:
    with open_platform(project) as p:
        worker = p.worker(pools=pools, **options)
        signal.signal(signal.SIGTERM, worker.drain)
        signal.signal(signal.SIGINT, worker.drain)
        worker.run()


def run_workers(
    project: str | Path,
    *,
    open_platform: OpenPlatform,
    processes: int = 1,
    pools: Sequence[str] = ("default",),
    scheduler: bool = False,
    **options: Any,
) -> int:
    """Run ``processes`` worker processes until SIGTERM/SIGINT drains them all
    (``scheduler``: and a pipeline scheduler on a thread of this process).

    ``open_platform`` opens the project in each process (the CLI passes ``Platform.open``).
    """
    if not scheduler:
        return _run_workers(open_platform, project, processes, pools, options)
    from shipyard.pipelines.scheduler import run_scheduler

    with open_platform(str(project)) as p:
        sched = run_scheduler(p.pipelines.scheduler())
        try:
            return _run_workers(open_platform, project, processes, pools, options)
        finally:
            sched.stop()


def _run_workers(
    open_platform: OpenPlatform,
    project: str | Path,
    processes: int,
    pools: Sequence[str],
    options: dict[str, Any],
) -> int:
    if processes <= 1:
        _worker_process(open_platform, str(project), list(pools), options)
        return 0
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(
            target=_worker_process, args=(open_platform, str(project), list(pools), options)
        )
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()

    def forward(_sig: int, _frame: Any) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for proc in procs:
        proc.join()
    return max((abs(p.exitcode or 0) for p in procs), default=0)
