"""What a worker runs for a training job or a search worker (job targets
``shipyard.training_jobs:run_training_job`` and ``:run_tune_worker``).

Like ``shipyard.step_actions``, it opens the project's platform as the principal who
submitted the job (with that principal's roles as they are now), so it sits beside
the composition root rather than in ``shipyard.training``.
"""

from __future__ import annotations

from typing import Any

from shipyard.pipelines.functions import job, resolve
from shipyard.pipelines.models import JobState
from shipyard.platform import Platform
from shipyard.step_actions import _platform
from shipyard.training.context import DataRef
from shipyard.training.execute import execute
from shipyard.training.models import POOL, Backend, Resources, TrainingRequest
from shipyard.training.resources import check_fits, local_capacity, wait_for


def _ahead(p: Platform, run_id: str) -> list[Resources]:
    """Resources held by the training jobs that started before this one (all teams)."""
    running = p.jobs.queue.list(state=JobState.RUNNING, pool=POOL, teams=None, limit=1000).items
    mine = next((j for j in running if j.args.get("run_id") == run_id), None)
    started = mine.started_at if mine is not None else None
    out = []
    for j in running:
        if j is mine or j.kind != "training" or "request" not in j.args:
            continue
        if started is not None and j.started_at is not None and j.started_at > started:
            continue  # younger jobs wait for this one, never the other way round
        out.append(Resources.model_validate(j.args["request"].get("resources") or {}))
    return out


@job
def run_training_job(
    request: dict[str, Any],
    run_id: str,
    data: dict[str, Any] | None,
    project: str,
    principal: str,
) -> dict[str, Any]:
    """Wait for the job's resources, then run its function in its run (or on Ray)."""
    p = _platform(project, principal)
    req = TrainingRequest.model_validate(request)
    ref = DataRef(**data) if data else None
    if req.backend is Backend.RAY and req.resources.workers:
        _ray_driver(req)  # the function runs here; its fit runs on Ray Train (ADR 0036)
    elif req.backend is Backend.RAY:
        from shipyard.training.ray_backend import run_on_ray

        return run_on_ray(req, run_id, data, project, principal)
    else:
        capacity = local_capacity()
        check_fits(req.resources, capacity)
        waited = wait_for(req.resources, capacity, lambda: _ahead(p, run_id), timeout=req.timeout)
        if waited > 0.5:
            p.tracking.set_tags(run_id, {"shipyard.training.waited_seconds": f"{waited:.1f}"})
    fn = resolve(req.function, p.settings.jobs)
    out = execute(
        p.tracking,
        lambda: p.registry,
        fn,
        run_id=run_id,
        params=req.params,
        resources=req.resources,
        data=ref,
        project_dir=p.settings.project_dir,
        register_as=req.register_as,
        ray_address=req.ray_address,
    )
    return {"run_id": out.run_id, "metrics": out.metrics, "model_version": out.model_version}


def _ray_driver(req: TrainingRequest) -> None:
    """Connect to the job's Ray cluster and check its workers fit there, before the run
    starts (a data-parallel request larger than the cluster would wait forever)."""
    from shipyard.training.data_parallel import check_workers
    from shipyard.training.ray_backend import capacity, connect

    ray = connect(req.ray_address)
    check_workers(req.resources, capacity(ray))


def open_as(project: str, principal: str) -> Platform:
    """The project's platform acting for ``principal`` (what a Ray task opens)."""
    return _platform(project, principal)


def execute_in(
    project: str, principal: str, req: TrainingRequest, run_id: str, data: dict[str, Any] | None
) -> dict[str, Any]:
    """The same tracked run, in whatever process calls it (a Ray task)."""
    p = _platform(project, principal)
    fn = resolve(req.function, p.settings.jobs)
    out = execute(
        p.tracking,
        lambda: p.registry,
        fn,
        run_id=run_id,
        params=req.params,
        resources=req.resources,
        data=DataRef(**data) if data else None,
        project_dir=p.settings.project_dir,
        register_as=req.register_as,
    )
    p.tracking.flush()
    return {"run_id": out.run_id, "metrics": out.metrics, "model_version": out.model_version}


@job
def run_tune_worker(study: str, project: str, principal: str) -> dict[str, Any]:
    """Join study ``study`` and run trials until it holds its ``n_trials``."""
    from optuna.trial import TrialState

    from shipyard.training.tune import Tuner, objective, optimize

    p = _platform(project, principal)
    tuner = Tuner(p.training, p.tracking, p.context)
    s = tuner.load(study)
    attrs = s.user_attrs
    fn = resolve(attrs["function"], p.settings.jobs)
    optimize(
        s,
        objective(p.tracking, lambda: p.registry, fn, attrs, p.settings.project_dir),
        int(attrs["n_trials"]),
    )
    p.tracking.flush()
    if not s.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        summary = tuner.finish(study)
    else:
        summary = tuner.summary(study)
    return summary.model_dump(mode="json")
