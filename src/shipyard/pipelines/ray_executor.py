"""The Ray executor: a job's function runs as a Ray task (``executor: ray``).

The worker still claims, heartbeats and records the job; only the function call moves
to the Ray cluster, so retries, leases, cancellation and logs behave as with the other
executors. ``jobs.ray_address`` names the cluster (``ray://head:10001``, ``auto``);
without it the worker starts a local Ray instance on first use (``jobs.ray_num_cpus``
CPUs), which is what the tests do. ``memory_mb`` becomes the task's memory request and
``timeout`` cancels the task. Ray is an extra: ``pip install 'shipyard[ray]'``.

The task resolves the target against the same allow-list before importing it, so a
Ray cluster never imports an arbitrary callable either. It runs as the job (so
``job_platform()`` works where the project's path and catalog are reachable) and sends
back, with the result, what the function's platform calls wrote and read: the worker
records it as the run's lineage, as for an in-process step.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
from typing import Any

from shipyard.config import JobSettings
from shipyard.errors import BackendUnavailable
from shipyard.pipelines.models import Job

_LOCK = threading.Lock()
_REMOTE: Any = None


def _task(
    target: str,
    args: dict[str, Any],
    kind: str,
    settings: dict[str, Any],
    job: dict[str, str] | None = None,
) -> Any:
    """What runs on a Ray worker: resolve (allow-list), call as ``job``, capture output
    and what the platform calls touched."""
    import json

    from shipyard.errors import PermissionDenied
    from shipyard.pipelines.executors import outside_worker, retryable
    from shipyard.pipelines.functions import call, resolve

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        try:
            fn = resolve(target, JobSettings.model_validate(settings))
        except (PermissionDenied, LookupError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}", "retry": False, "logs": ""}
        done: dict[str, Any]
        out, err = contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf)
        with out, err, outside_worker(job) as access:
            try:
                result = json.loads(json.dumps(call(fn, args, kind), default=str))
                done = {"result": result}
            except Exception as exc:
                done = {"error": f"{type(exc).__name__}: {exc}", "retry": retryable(exc)}
        if access:  # failed or not, as for an in-process step
            done["access"] = access.to_json()
        return {**done, "logs": buf.getvalue()}
    finally:
        root.removeHandler(handler)


def _remote(settings: JobSettings) -> Any:
    """``ray.init`` once per process, and the remote task."""
    global _REMOTE
    with _LOCK:
        if _REMOTE is not None:
            return _REMOTE
        try:
            import ray
        except ImportError:
            raise BackendUnavailable(
                "executor 'ray' needs Ray: pip install 'shipyard[ray]'"
            ) from None
        if not ray.is_initialized():
            options: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
            if settings.ray_address:
                options["address"] = settings.ray_address
            else:  # a local instance: its workers import what this process can
                options["num_cpus"] = settings.ray_num_cpus
                options["include_dashboard"] = False
                path = os.pathsep.join(p for p in sys.path if p)
                options["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
            ray.init(**options)
        _REMOTE = ray.remote(_task)
        return _REMOTE


def shutdown() -> None:
    """Stop the local Ray instance this process started (if any)."""
    global _REMOTE
    with _LOCK:
        if _REMOTE is not None:
            import ray

            ray.shutdown()
            _REMOTE = None


def run_ray(job: Job, settings: JobSettings, stop: threading.Event) -> Any:
    """Run ``job`` as a Ray task; a cancel, a lost lease or the timeout cancels it."""
    import ray

    from shipyard.pipelines.executors import Outcome, job_payload
    from shipyard.pipelines.run_lineage import StepAccess

    remote = _remote(settings)
    options: dict[str, Any] = {"max_retries": 0}  # the queue retries, not Ray
    if job.memory_mb is not None:
        options["memory"] = job.memory_mb * 1024 * 1024
    ref = remote.options(**options).remote(
        job.target, job.args, job.kind, settings.model_dump(mode="json"), job_payload()
    )
    deadline = None if job.timeout is None else time.monotonic() + job.timeout
    while True:
        ready, _ = ray.wait([ref], timeout=0.05)
        if ready:
            break
        reason = None
        if stop.is_set():
            reason = "stopped: the job was cancelled or its lease was lost"
        elif deadline is not None and time.monotonic() > deadline:
            reason = f"timed out after {job.timeout:g} s"
        if reason is not None:
            ray.cancel(ref, force=True)
            return Outcome(ok=False, error=reason)
    try:
        data = ray.get(ref)
    except Exception as exc:  # the task's worker died (out of memory, killed)
        return Outcome(ok=False, error=f"ray task failed: {type(exc).__name__}: {exc}")
    access = StepAccess.from_json(data.get("access"))
    if "error" in data:
        return Outcome(
            ok=False,
            error=data["error"],
            logs=data.get("logs", ""),
            retry=data["retry"],
            access=access,
        )
    return Outcome(ok=True, result=data["result"], logs=data.get("logs", ""), access=access)
