"""Run one job's function: in the worker process, or in a child process with limits.

Both capture stdout, stderr and ``logging`` output into one text (the job's logs).
A child (and a Ray task) runs the function as the worker would in-process
(``outside_worker``): as the job (``current_job``), listening to what its platform
calls write and read, which it sends back with the result (``Outcome.access``) for the
worker to record as the run's lineage (``run_lineage``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from shipyard._internal.service import listening
from shipyard.config import JobSettings
from shipyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from shipyard.pipelines.capture import captured
from shipyard.pipelines.functions import JobContext, call, current_job, resolve, running
from shipyard.pipelines.models import Job, tail
from shipyard.pipelines.run_lineage import StepAccess


@dataclass
class Outcome:
    ok: bool
    result: Any = None
    error: str | None = None
    logs: str = ""
    #: False for errors that another attempt cannot fix (a refused or missing target).
    retry: bool = True
    #: What the job used (usage metering): CPU-seconds of its thread or child process,
    #: and the peak resident memory of the process it ran in. None when not measured.
    cpu_seconds: float | None = None
    peak_memory_bytes: int | None = None
    #: What the function's platform calls wrote and read in a child process or a Ray
    #: task, failed or not (an in-process job's are heard by the worker itself).
    access: StepAccess | None = None


def peak_rss_bytes() -> int:
    """This process's peak resident memory (Linux reports kilobytes)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def measured(run: Any) -> Any:
    """Wrap an in-process runner: the CPU time of the calling thread is the job's."""

    def wrapper(job: Job, settings: JobSettings, stop: threading.Event) -> Outcome:
        start = time.thread_time()
        out: Outcome = run(job, settings, stop)
        out.cpu_seconds = time.thread_time() - start
        out.peak_memory_bytes = peak_rss_bytes()
        return out

    return wrapper


class JobTimeout(Exception):
    pass


#: Errors of the caller's making: another attempt gives the same answer, so the job
#: ends ``failed`` at once (a missing table, a refused permission, a bad argument).
FINAL_ERRORS = (NotFound, InvalidArgument, PermissionDenied, Unauthenticated, AlreadyExists)


def retryable(exc: BaseException) -> bool:
    return not isinstance(exc, FINAL_ERRORS)


def _json_safe(value: Any) -> Any:
    """The result as the job row stores it: NaN and infinities become null (PostgreSQL's
    json refuses them, and the worker's completion transaction with them)."""
    return json.loads(json.dumps(value, default=str), parse_constant=lambda _: None)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def job_payload() -> dict[str, str] | None:
    """The job running on this thread (``current_job``), for a child or a Ray task."""
    job = current_job()
    return asdict(job) if job is not None else None


@contextlib.contextmanager
def outside_worker(job: Any) -> Iterator[StepAccess]:
    """Around a function that a child process or a Ray task runs: it runs as the job
    ``job_payload`` named (so ``job_platform()`` works), and the access yielded hears
    what its platform calls write and read, whether it returns or raises."""
    access = StepAccess()
    names = [f.name for f in fields(JobContext)]
    with contextlib.ExitStack() as stack:
        if isinstance(job, dict) and all(isinstance(job.get(n), str) for n in names):
            stack.enter_context(running(JobContext(**{n: job[n] for n in names})))
        stack.enter_context(listening(access))
        yield access


def run_inprocess(job: Job, settings: JobSettings, stop: threading.Event) -> Outcome:
    """In the worker process. A timeout interrupts Python code (``SIGALRM``) when the
    worker runs on its main thread; a cancelled job's result is discarded."""
    try:
        fn = resolve(job.target, settings)
    except (PermissionDenied, LookupError) as exc:
        return Outcome(ok=False, error=_describe(exc), retry=False)
    buf = io.StringIO()
    alarm = job.timeout is not None and threading.current_thread() is threading.main_thread()
    try:
        with captured(buf):  # this thread's output only (other threads print as before)
            if alarm:
                signal.signal(signal.SIGALRM, _raise_timeout)
                signal.setitimer(signal.ITIMER_REAL, job.timeout or 0)
            try:
                result = call(fn, job.args, job.kind)
            finally:
                if alarm:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        return Outcome(ok=True, result=_json_safe(result), logs=buf.getvalue())
    except JobTimeout:
        return Outcome(ok=False, error=f"timed out after {job.timeout:g} s", logs=buf.getvalue())
    except Exception as exc:
        return Outcome(ok=False, error=_describe(exc), logs=buf.getvalue(), retry=retryable(exc))


def _raise_timeout(_sig: int, _frame: Any) -> None:
    raise JobTimeout


def apply_limits(memory_mb: int | None, cpu_seconds: float | None) -> None:
    """Cap this process (the child calls it on itself: no ``preexec_fn`` in a threaded
    worker)."""
    if memory_mb is not None:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if cpu_seconds is not None:
        cpu = int(cpu_seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def run_subprocess(job: Job, settings: JobSettings, stop: threading.Event) -> Outcome:
    """In a child process (its own session): ``memory_mb`` caps its address space,
    ``timeout`` its CPU time and wall time; the timeout or a cancel kills its group."""
    with tempfile.TemporaryDirectory(prefix="shipyard-job-") as tmp:
        result_path = Path(tmp) / "result.json"
        log_path = Path(tmp) / "output.log"
        payload = {
            "target": job.target,
            "args": job.args,
            "kind": job.kind,
            "settings": settings.model_dump(),
            "result": str(result_path),
            "memory_mb": job.memory_mb,
            "cpu_seconds": job.timeout,
            "job": job_payload(),
        }
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "shipyard.pipelines._child"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(payload).encode())
            proc.stdin.close()
            reason, used = _wait(proc, job.timeout, stop)
        logs = log_path.read_text(errors="replace")
        out = (
            Outcome(ok=False, error=reason, logs=logs)
            if reason is not None
            else _read_result(result_path, proc.returncode, logs)
        )
        # The kernel's account of the child (reaped by wait4): usage metering.
        out.cpu_seconds = float(used.ru_utime + used.ru_stime)
        out.peak_memory_bytes = int(used.ru_maxrss) * 1024
        return out


def _reap(proc: subprocess.Popen[bytes], block: bool) -> resource.struct_rusage | None:
    """Reap the child with ``wait4`` (its exit status and its resource usage)."""
    pid, status, used = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return used


def _wait(
    proc: subprocess.Popen[bytes], timeout: float | None, stop: threading.Event
) -> tuple[str | None, resource.struct_rusage]:
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.0005  # as Popen.wait polls: a short job is seen ending at once
    while True:
        used = _reap(proc, block=False)
        if used is not None:
            return None, used
        reason = None
        delay = min(delay * 2, 0.05)
        if stop.wait(delay):
            reason = "stopped: the job was cancelled or its lease was lost"
        elif deadline is not None and time.monotonic() > deadline:
            reason = f"timed out after {timeout:g} s"
        if reason is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            used = _reap(proc, block=True)
            assert used is not None  # a blocking wait4 returns once the child is reaped
            return reason, used


def _read_result(path: Path, code: int, logs: str) -> Outcome:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        if code < 0:
            what = signal.Signals(-code).name
            error = f"killed by {what}" + (" (CPU time limit)" if what == "SIGXCPU" else "")
        else:
            error = f"exited with code {code}: {(tail(logs) or '').strip().splitlines()[-1:]}"
        return Outcome(ok=False, error=error, logs=logs)
    access = StepAccess.from_json(data.get("access"))
    if "error" in data:
        return Outcome(
            ok=False, error=data["error"], logs=logs, retry=data.get("retry", True), access=access
        )
    return Outcome(ok=True, result=data.get("result"), logs=logs, access=access)
