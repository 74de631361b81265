"""Which ``module:function`` a job may run, and resolving it.

A job never runs an arbitrary importable callable: the target must be listed in
``jobs.functions``, or be a ``@job``-decorated function of a module listed in
``jobs.modules`` (or of ``shipyard.pipelines.builtin``). The worker checks again
before it runs anything, so a row written straight into the table is refused too.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from shipyard.config import JobSettings
from shipyard.errors import PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])
BUILTIN = "shipyard.pipelines.builtin"
#: Platform actions of pipeline steps: queued only by the pipeline engine (they act as
#: the principal who started the run), so never accepted from a job submitter. The
#: module opens a ``Platform``, so it lives outside this package (named, not imported).
ACTIONS = "shipyard.step_actions"
#: Training jobs and search workers: queued only by ``TrainingService`` (same reason).
TRAINING = "shipyard.training_jobs"
_MARK = "__shipyard_job__"


def job(fn: F) -> F:
    """Mark a function as runnable by jobs (its module must be in ``jobs.modules``)."""
    setattr(fn, _MARK, True)
    return fn


def _refused(target: str) -> PermissionDenied:
    return PermissionDenied(
        f"job target {target} is not allowed: list it in jobs.functions, or decorate it "
        "with @shipyard.pipelines.job and list its module in jobs.modules",
        target=target,
    )


def check_allowed(target: str, settings: JobSettings, *, internal: bool = False) -> None:
    """Refuse a target by name alone (no import): before a job is queued.

    ``internal``: also the pipeline engine's actions (the worker, and the engine itself).
    """
    module = target.split(":", 1)[0]
    if target in settings.functions or module == BUILTIN or module in settings.modules:
        return
    if internal and module in (ACTIONS, TRAINING):
        return
    raise _refused(target)


def resolve(target: str, settings: JobSettings) -> Callable[..., Any]:
    """Import and return the function (refused unless allowed; see the module doc)."""
    check_allowed(target, settings, internal=True)
    module, name = target.split(":", 1)
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise LookupError(f"cannot load job target {target}: {exc}") from None
    if not callable(fn) or (target not in settings.functions and not getattr(fn, _MARK, False)):
        raise _refused(target)
    return fn


#: What a pipeline run adds to a step's own arguments.
RUN_ARGS = ("inputs", "partition")


def call(fn: Callable[..., Any], args: dict[str, Any], kind: str) -> Any:
    """Call a job's function; a step gets ``inputs``/``partition`` only if it takes them."""
    if kind == "step" and any(k in args for k in RUN_ARGS):
        params = inspect.signature(fn).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            args = {k: v for k, v in args.items() if k not in RUN_ARGS or k in params}
    return fn(**args)


@dataclass(frozen=True)
class JobContext:
    """The job a function runs as (``current_job``): its project, and the principal who
    queued it (a run's steps: who started the run), whom its platform calls act as."""

    project: str
    principal: str
    job_id: str
    team: str


_CURRENT: ContextVar[JobContext | None] = ContextVar("shipyard_job", default=None)


def current_job() -> JobContext | None:
    """The job running on this thread, when a worker runs it in-process (else None)."""
    return _CURRENT.get()


@contextlib.contextmanager
def running(context: JobContext) -> Iterator[None]:
    """Mark ``context`` as the job running on this thread (the worker, around a job)."""
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)
