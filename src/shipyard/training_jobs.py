"""What a worker runs for a training job or a search worker (job targets
``shipyard.training_jobs:run_training_job`` and ``:run_tune_worker``).

Like ``shipyard.step_actions``, it opens the project's platform as the principal who
submitted the job (with that principal's roles as they are now), so it sits beside
the composition root rather than in ``shipyard.training``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard._internal.clock import utcnow
from shipyard._internal.quota import QuotaResource
from shipyard.pipelines.functions import job, resolve
from shipyard.pipelines.models import Job, JobState
from shipyard.platform import Platform
from shipyard.quotas.models import QuotaScope
from shipyard.step_actions import _platform
from shipyard.training.context import DataRef
from shipyard.training.execute import execute
from shipyard.training.models import POOL, Backend, Resources, TrainingRequest
from shipyard.training.resources import Cap, check_fits, held_by, holds, local_capacity, wait_for


def _older(p: Platform, run_id: str) -> tuple[Job | None, list[Job]]:
    """This job and the running training jobs and search workers (all teams) that
    started before it (ties broken by id); a job whose lease has expired (its worker
    died) holds nothing, whether or not it was requeued yet."""
    running = p.jobs.queue.list(state=JobState.RUNNING, pool=POOL, teams=None, limit=1000).items
    mine = next((j for j in running if j.args.get("run_id") == run_id), None)
    now = utcnow()
    out = []
    for j in running:
        if j is mine or j.kind != "training":
            continue
        if j.lease_until is not None and j.lease_until < now:
            continue
        if mine is None or not _younger(j, mine):  # younger jobs wait for this one
            out.append(j)
    return mine, out


def _younger(j: Job, mine: Job) -> bool:
    if j.started_at is None or mine.started_at is None:
        return False
    return (j.started_at, j.id) > (mine.started_at, mine.id)


def _caps(p: Platform, mine: Job | None, older: Callable[[], list[Job]]) -> list[Cap]:
    """The ``cpus``/``gpus`` quotas of the job's principal and team, each with what the
    older jobs under it hold."""
    if mine is None:
        return []
    found: dict[tuple[QuotaScope, str], dict[str, float]] = {}
    for resource in (QuotaResource.CPUS, QuotaResource.GPUS):
        for scope, subject, limit in p.quotas.caps(resource, mine.team):
            found.setdefault((scope, subject), {})[resource.value] = limit

    def held(scope: QuotaScope, subject: str) -> Callable[[], list[Resources]]:
        def under() -> list[Resources]:
            return [
                held_by(j.args)
                for j in older()
                if (j.team if scope is QuotaScope.TEAM else j.created_by) == subject
            ]

        return under

    return [
        Cap(f"{scope.value} '{subject}'", lim.get("cpus"), lim.get("gpus"), held(scope, subject))
        for (scope, subject), lim in found.items()
    ]


def _wait(p: Platform, req: TrainingRequest, run_id: str) -> float:
    """Wait for room on this machine (not for a Ray job: its cluster schedules it) and
    under the job's CPU/GPU quotas (ADR 0047); the seconds waited."""
    local = req.backend is not Backend.RAY
    capacity = (
        local_capacity() if local else Resources.model_construct(cpus=float("inf"), gpus=2**31)
    )
    if local:
        check_fits(req.resources, capacity)
    mine, snapshot = _older(p, run_id)

    def machine() -> list[Resources]:  # read once per poll; the caps reuse the snapshot
        nonlocal snapshot
        _, snapshot = _older(p, run_id)
        if not local:
            return []
        return [
            Resources.model_validate(j.args["request"].get("resources") or {})
            for j in snapshot
            if "request" in j.args
        ]

    caps = _caps(p, mine, lambda: snapshot)
    holding = holds(req.resources)
    return wait_for(
        req.resources, capacity, machine, timeout=req.timeout, caps=caps, counted=holding
    )


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
    waited = _wait(p, req, run_id)
    if waited > 0.5:
        p.tracking.set_tags(run_id, {"shipyard.training.waited_seconds": f"{waited:.1f}"})
    if req.backend is Backend.RAY and req.resources.workers:
        _ray_driver(req)  # the function runs here; its fit runs on Ray Train (ADR 0036)
    elif req.backend is Backend.RAY:
        from shipyard.training.ray_backend import run_on_ray

        return run_on_ray(req, run_id, data, project, principal)
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
