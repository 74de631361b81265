"""One tracked training: a run around ``fn(ctx)`` with params, input, code version, logs.

Whatever runs the function (the caller, a queue worker, a Ray task) calls
``execute``; the run ends FINISHED, FAILED (with the error and the captured logs)
or KILLED (a pruned trial), and a logged model is registered when asked.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.models import Run, RunStatus
from shipyard.tracking.validation import now_ms
from shipyard.training.code import code_tags
from shipyard.training.context import DataRef, TrainingContext
from shipyard.training.models import Resources

if TYPE_CHECKING:
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.service import TrackingService

MAX_ERROR = 4000


@dataclass
class Outcome:
    run_id: str
    metrics: dict[str, float]
    model_version: str | None = None


@contextlib.contextmanager
def captured(enabled: bool) -> Iterator[io.StringIO]:
    """stdout, stderr and logging of the block (off for threaded trials: redirecting
    stdout is process-wide)."""
    buf = io.StringIO()
    if not enabled:
        yield buf
        return
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            yield buf
    finally:
        root.removeHandler(handler)


@contextlib.contextmanager
def cpu_threads(cpus: float) -> Iterator[None]:
    """Native thread pools (OpenMP, BLAS) sized to the CPUs the job asked for: a job
    asking for 1 CPU does not spread over every core of a shared worker."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=max(1, int(cpus))):
        yield


def _metrics(result: Any) -> dict[str, float]:
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise TypeError(f"a training function returns a dict of metrics, not {type(result)}")
    return {str(k): float(v) for k, v in result.items()}


def execute(
    tracking: TrackingService,
    registry: Callable[[], RegistryService],
    fn: Callable[[TrainingContext], Any],
    *,
    run_id: str,
    params: dict[str, Any],
    resources: Resources,
    data: DataRef | None,
    project_dir: Path,
    register_as: str | None = None,
    trial: Any = None,
    capture: bool = True,
    created: Run | None = None,
    ray_address: str | None = None,
) -> Outcome:
    """Run ``fn`` in the existing run ``run_id`` (created at submit time) and end it."""
    if created is None or created.status is not RunStatus.RUNNING:  # a queued job's run
        created = tracking.update_run(run_id, status=RunStatus.RUNNING)
    batched = trial is not None
    run = TrialRun(tracking, created) if batched else ActiveRun(tracking, created)
    tags = {
        **code_tags(project_dir),
        "shipyard.training.process": f"{socket.gethostname()}:{os.getpid()}",
    }
    if data is not None:
        tags["shipyard.training.training_set"] = data.ref
    if not batched:  # a trial writes them with its metrics when it ends (ADR 0029)
        tracking.log_batch(run_id, params=params, tags=tags)
    if data is not None and trial is None:  # a search records its input on the parent run
        tracking.log_input(run_id, data.ref)
    ctx = TrainingContext(run, params, resources, data, trial, ray_address)
    with captured(capture) as logs, cpu_threads(resources.cpus):
        try:
            metrics = _metrics(fn(ctx))
        except BaseException as exc:
            _failed(run, exc, logs.getvalue(), params if batched else {}, tags)
            raise
    if metrics:
        run.log_metrics(metrics)
    if isinstance(run, TrialRun):
        run.write(params, tags)
    if logs.getvalue():
        run.log_text(logs.getvalue(), "logs/train.log")
    run.end(RunStatus.FINISHED)
    version = None
    if register_as and ctx.model is not None:
        mv = registry().register_model(register_as, source=f"runs:/{run_id}/model")
        version = f"{mv.name}/{mv.version}"
    return Outcome(run_id=run_id, metrics=metrics, model_version=version)


class TrialRun(ActiveRun):
    """A search trial's run: its metrics are kept in memory and written with its params
    and tags in one transaction when the trial ends (a trial is short and there are
    many: per-trial transactions were most of a search's tracking cost, ADR 0029)."""

    def __init__(self, service: TrackingService, run: Run) -> None:
        super().__init__(service, run)
        self.pending: list[dict[str, Any]] = []

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        self._check_open()
        self.pending.append(
            {
                "key": key,
                "value": value,
                "step": step or 0,
                "timestamp": timestamp if timestamp is not None else now_ms(),
            }
        )

    def write(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        pending, self.pending = self.pending, []
        self._service.log_batch(self.id, params=params, tags=tags, metrics=pending)


def _failed(
    run: ActiveRun,
    exc: BaseException,
    logs: str,
    params: dict[str, Any],
    tags: dict[str, str],
) -> None:
    pruned = type(exc).__name__ == "TrialPruned"
    text = "".join(traceback.format_exception(exc))
    try:
        failure = {
            "shipyard.training.error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR],
            "shipyard.training.pruned": str(pruned).lower(),
        }
        if isinstance(run, TrialRun):
            run.write(params, {**tags, **failure})
        else:
            run.set_tags(failure)
        run.log_text(logs + ("" if pruned else "\n" + text), "logs/train.log")
    finally:
        run.end(RunStatus.KILLED if pruned else RunStatus.FAILED)
