"""What a pipeline step of a platform action runs: ``run_action``, in a worker.

It opens the project's platform as the principal who started the run (with that
principal's roles as they are now), so the action is authorized and audited like the
same call from the SDK. This module opens a ``Platform``, so it sits beside the
composition root, not in ``shipyard.pipelines`` (which only names it, as the job
target ``shipyard.step_actions:run_action``, and checks the arguments at plan time:
``shipyard.pipelines.actions``). A worker, in-process or a spawned child, imports it
by that path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.pipelines.actions import check_args
from shipyard.pipelines.functions import current_job, job
from shipyard.platform import Platform
from shipyard.security.store import load_principal


def _refresh(p: Platform, table: str, full: bool = False) -> Any:
    r = p.lake.refresh(table, full=full)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _refresh_all(p: Platform, full: bool = False) -> Any:
    return [getattr(r, "table", str(r)) for r in p.lake.refresh_all(full=full)]


def _apply_changes(
    p: Platform, table: str, source: str, keys: list[str], sequence_by: str, **kw: Any
) -> Any:
    changes = p.lake.sql(f"SELECT * FROM {source}")
    r = p.lake.apply_changes(table, changes, keys=keys, sequence_by=sequence_by, **kw)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _materialize(
    p: Platform, views: list[str] | None = None, start: str | None = None, end: str | None = None
) -> Any:
    results = p.features.materialize(views or None, start=_instant(start), end=_instant(end))
    return [r.to_dict() for r in results]


def _instant(value: str | None) -> datetime | None:
    """An ISO-8601 argument (job arguments are JSON)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"not an ISO-8601 date and time: {value!r}") from None


def _training_set(p: Platform, name: str, **kw: Any) -> Any:
    if "entity_source" in kw:
        kw["entity_df"] = p.lake.sql(f"SELECT * FROM {kw.pop('entity_source')}")
        ts = p.features.create_training_set(name, **kw)
        return {"name": ts.name, "version": ts.version}
    p.features.rebuild_training_set(name)
    return {"name": name}


def _register(p: Platform, name: str, source: str, **kw: Any) -> Any:
    mv = p.registry.register_model(name, source, **kw)
    return {"name": mv.name, "version": mv.version}


def _promote(
    p: Platform, name: str, alias: str, version: int | None = None, inputs: Any = None
) -> Any:
    if version is None:  # the version an upstream register step made
        found = [v for v in (inputs or {}).values() if isinstance(v, dict) and "version" in v]
        if not found:
            raise InvalidArgument(
                f"promote {name}@{alias}: no version given or registered upstream"
            )
        version = int(found[-1]["version"])
    if _alias_version(p, name, alias) == version:  # a rerun: nothing to ask or approve
        return {"name": name, "alias": alias, "version": version, "status": "unchanged"}
    req = p.registry.set_alias(name, alias, version)
    return {"name": name, "alias": alias, "version": version, "status": str(req.status)}


def _alias_version(p: Platform, name: str, alias: str) -> int | None:
    """The version ``name@alias`` points at now (None: the alias is not set)."""
    try:
        return int(p.registry.resolve(f"models:/{name}@{alias}").version)
    except NotFound:
        return None


def _score(p: Platform, model: str, source: str, output: str, **kw: Any) -> Any:
    r = p.serving.score_table(model, source, output, **kw)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _export(p: Platform, model: str, **kw: Any) -> Any:
    return p.serving.export_model(model, **kw).model_dump(mode="json")


def _export_deployment(p: Platform, deployment: str, **kw: Any) -> Any:
    return p.serving.export_deployment(deployment, **kw).model_dump(mode="json")


def _report(p: Platform, deployment: str) -> Any:
    r = p.serving.get_report(deployment)
    return r.model_dump(mode="json") if hasattr(r, "model_dump") else str(r)


def _drift(
    p: Platform,
    deployment: str,
    window_seconds: float = 3600.0,
    thresholds: dict[str, float] | None = None,
    features: list[str] | None = None,
) -> Any:
    r = p.monitoring.run_drift(
        deployment, window_seconds=window_seconds, thresholds=thresholds, features=features
    )
    return {**r.summary(), "window_end": r.window_end.isoformat(), "message": r.message}


def _meter(p: Platform, hour: str | None = None) -> Any:
    from datetime import datetime

    return p.usage.meter(datetime.fromisoformat(hour) if hour else None).model_dump(mode="json")


#: The function that runs each action of ``shipyard.pipelines.actions.ACTIONS``.
RUNNERS: dict[str, Callable[..., Any]] = {
    "lake.refresh": _refresh,
    "lake.refresh_all": _refresh_all,
    "lake.apply_changes": _apply_changes,
    "features.materialize": _materialize,
    "features.training_set": _training_set,
    "registry.register": _register,
    "registry.promote": _promote,
    "serving.score_table": _score,
    "serving.export_model": _export,
    "serving.export_deployment": _export_deployment,
    "monitoring.report": _report,
    "monitoring.drift": _drift,
    "usage.meter": _meter,
}


_ROOTS: dict[str, Platform] = {}
_LOCK = threading.Lock()


def _platform(project: str, principal: str) -> Platform:
    """The project's platform acting for ``principal`` with its roles as they are NOW
    (read per step: a revoked role stops the next step). One root platform per
    project per worker process: opening one costs ~50 ms."""
    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = Platform.open(project)
    with root.context.db.connect() as conn:
        acting = load_principal(conn, principal)
    if acting is None:
        raise PermissionDenied(f"the run's principal {principal} no longer exists")
    return root.as_principal(acting)


def job_platform() -> Platform:
    """What a project's own ``@shipyard.step`` functions use to call the platform: the
    project's platform acting for the principal who queued the running job (for a
    pipeline step: who started the run), like an action. Inside a job a worker runs, on
    any executor (a subprocess or Ray task opens the project at the worker's path).

    Raises:
        InvalidArgument: not called inside a job.
    """
    job = current_job()
    if job is None:
        raise InvalidArgument("job_platform() works only inside a job a worker runs")
    return _platform(job.project, job.principal)


def release(project: str) -> None:
    """Close the root platform this process opened for ``project``'s jobs (a process
    that ran them on an embedded worker and is done with the project, like the demo)."""
    with _LOCK:
        root = _ROOTS.pop(project, None)
    if root is not None:
        root.close()


@job
def run_action(
    action: str,
    params: dict[str, Any],
    project: str,
    principal: str,
    inputs: dict[str, Any] | None = None,
    partition: str | None = None,
) -> Any:
    """Run one platform action as ``principal`` (what a step job of an action calls)."""
    check_args(action, params)
    kwargs = dict(params)
    if action == "registry.promote":
        kwargs["inputs"] = inputs
    return RUNNERS[action](_platform(project, principal), **kwargs)


@job
def check_canary(project: str, deployment: str) -> str:
    """The scheduled canary check of one deployment (queued by the scheduler only).

    Runs as the serving runtime (``serving-runtime``, editor on every team), the
    principal that checked ramps inside server processes before; what it changes is
    audited under that name (``serving.advance_canary`` / ``serving.rollback_canary``).
    """
    from shipyard.serving.context import RUNTIME_PRINCIPAL

    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = Platform.open(project)
    return root.as_principal(RUNTIME_PRINCIPAL).serving.check_canary(deployment)


@job
def flush_prediction_log(project: str) -> int:
    """The scheduled flush of the prediction spool into the inference log (queued by the
    scheduler only): every server process's spooled predictions, one Delta append per
    200,000 rows. Returns the rows moved (ADR 0052)."""
    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = Platform.open(project)
    return root.serving.runtimes.flush_log(wait=30.0)


@job
def evaluate_slos(project: str, deployment: str) -> list[dict[str, Any]]:
    """The scheduled SLO evaluation of one deployment (queued by the scheduler only).

    Runs as the monitoring service principal (editor on every team); the evaluation
    and the incidents it opens or resolves are audited under that name.
    """
    from shipyard.monitoring.service import MONITOR_PRINCIPAL

    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = Platform.open(project)
    statuses = root.as_principal(MONITOR_PRINCIPAL).monitoring.evaluate_slos(deployment)
    return [
        {"slo": s.slo.name, "status": s.status, "incident": s.incident.id if s.incident else None}
        for s in statuses
    ]


@job
def prune_jobs(project: str) -> dict[str, Any]:
    """The scheduled job-history prune (queued by the scheduler only, ADR 0056): deletes
    what is past ``jobs.retention_days`` / ``jobs.periodic_retention_hours`` as the
    retention service principal (admin on every team), audited as ``jobs.prune``."""
    from shipyard.pipelines.retention import RETENTION_PRINCIPAL

    with _LOCK:
        root = _ROOTS.get(project)
        if root is None:
            root = _ROOTS[project] = Platform.open(project)
    out = root.as_principal(RETENTION_PRINCIPAL).jobs.prune()
    return out.model_dump(mode="json")
