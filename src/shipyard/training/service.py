"""``TrainingService``: training jobs with resources, run through the job queue, tracked.

A job is a tracked run created when it is submitted (status SCHEDULED) and a queued
job in pool ``training`` whose worker runs the function in that run. The function
is named ``module:function`` and must be allowed like any job target
(``jobs.functions`` / ``jobs.modules``). Mutations are authorized on the job's team.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shipyard._internal.paging import Page
from shipyard.catalog.context import Service, ServiceContext
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.pipelines.functions import check_allowed, resolve
from shipyard.pipelines.models import Executor, Job, JobSpec, JobState
from shipyard.security.models import Permission
from shipyard.tracking.models import RunStatus
from shipyard.training.context import DataRef
from shipyard.training.data_parallel import check_workers
from shipyard.training.execute import execute
from shipyard.training.models import (
    POOL,
    Backend,
    Resources,
    Study,
    TrainingJob,
    TrainingRequest,
)
from shipyard.training.resources import check_fits, holds, local_capacity

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.lake.service import LakeService
    from shipyard.pipelines.service import JobService
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.service import TrackingService

#: The job target of every training job (``shipyard/training_jobs.py``).
TARGET = "shipyard.training_jobs:run_training_job"
TUNE_TARGET = "shipyard.training_jobs:run_tune_worker"


def _source_tags(feature_service: str | None) -> dict[str, str]:
    return {} if feature_service is None else {"shipyard.training.feature_service": feature_service}


def parse_request(**fields: Any) -> TrainingRequest:
    try:
        return TrainingRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "request"
        raise InvalidArgument(f"invalid training {where}: {err['msg']}") from None


class TrainingService(Service):
    """Submit, run, inspect and search training jobs.

    Example:
        >>> job = p.training.submit("mymod:train", training_set="churn_train", params={"lr": 0.1})
        >>> p.training.get(job.id).metrics
    """

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        jobs: JobService,
        tracking: TrackingService,
        features: Callable[[], FeatureService],
        lake: Callable[[], LakeService],
        registry: Callable[[], RegistryService],
    ) -> None:
        super().__init__(ctx)
        self._jobs = jobs
        self._tracking = tracking
        self._features = features
        self._lake = lake
        self._registry = registry

    # -- preparing ------------------------------------------------------------------------

    def data_ref(self, training_set: str | None) -> DataRef | None:
        """The exact version of ``name`` or ``name@version`` (authorized as a read)."""
        if training_set is None:
            return None
        name, _, version = training_set.partition("@")
        ts = self._features().get_training_set(name, int(version) if version else None)
        storage = self._lake().storage
        return DataRef(
            ref=ts.ref,
            uri=storage.uri(ts.table),
            table_version=ts.table_version,
            storage_options=dict(storage.options),
            features=list(ts.features),
        )

    def _training_input(
        self,
        training_set: str | None,
        feature_service: str | None,
        entity_df: Any,
        *,
        team: str | None = None,
    ) -> str | None:
        """The training set a job trains on: ``training_set`` itself, or, given a
        ``feature_service`` and ``entity_df`` (rows of join keys, timestamps and labels: a
        DataFrame, Arrow, a lake table name or SQL), the point-in-time correct retrieval of
        the service's features for those rows, saved as the training set ``training_set``
        (default ``<service>_input``) and returned as ``name@version``. The new version
        carries the lineage from the feature views and source tables it read.

        Raises:
            InvalidArgument: ``entity_df`` without ``feature_service`` or the reverse.
            NotFound: no such feature service. PermissionDenied: no write on ``team``.
        """
        if feature_service is None:
            if entity_df is not None:
                raise InvalidArgument("entity_df goes with a feature_service")
            return training_set
        if entity_df is None:
            raise InvalidArgument("a feature_service input needs entity_df (the rows to label)")
        if training_set is not None and "@" in training_set:
            raise InvalidArgument(
                "with a feature_service, training_set names the set to save (no '@version')"
            )
        name = training_set or re.sub(r"\W", "_", f"{feature_service}_input")
        ts = self._features().create_training_set(
            name,
            entity_df,
            feature_service=feature_service,
            owner=team,
            description=f"training input: feature service {feature_service}",
        )
        return f"{ts.name}@{ts.version}"

    def _prepare(self, request: TrainingRequest, *, tags: dict[str, str] | None = None) -> Any:
        data = self.data_ref(request.training_set)
        run = self._tracking.create_run(
            request.experiment,
            run_name=request.run_name or request.function.rsplit(":", 1)[1],
            tags={
                "shipyard.training.function": request.function,
                "shipyard.training.backend": request.backend.value,
                **(tags or {}),
            },
        )
        return data, run

    # -- jobs -----------------------------------------------------------------------------

    def submit(
        self,
        function: str,
        *,
        training_set: str | None = None,
        params: dict[str, Any] | None = None,
        resources: Resources | dict[str, Any] | None = None,
        experiment: str = "training",
        run_name: str | None = None,
        register_as: str | None = None,
        team: str | None = None,
        timeout: float | None = None,
        max_attempts: int = 1,
        backend: str = "subprocess",
        ray_address: str | None = None,
        feature_service: str | None = None,
        entity_df: str | None = None,
    ) -> TrainingJob:
        """Queue ``function(ctx)`` as a tracked training job; a worker of pool ``training``
        runs it once the resources it asks for are free.

        With ``feature_service`` and ``entity_df`` (a lake table name or SQL), the job
        trains on their point-in-time retrieval, saved first as a training set
        (``_training_input``).

        Raises:
            InvalidArgument: bad params or resources, GPUs where there are none.
            PermissionDenied: the function is not allowed, or no ``write`` on the team.
            NotFound: the training set does not exist.
        """
        request = parse_request(
            function=function,
            training_set=training_set,
            params=params,
            resources=resources,
            experiment=experiment,
            run_name=run_name,
            register_as=register_as,
            team=team,
            timeout=timeout,
            max_attempts=max_attempts,
            backend=backend,
            ray_address=ray_address,
        )
        owner = request.team or self._ctx.default_team
        self._ctx.require(Permission.WRITE, owner, action="training.submit")
        check_allowed(request.function, self._ctx.settings.jobs)  # before any retrieval
        if request.backend is not Backend.RAY:  # a Ray cluster is checked where it runs
            check_fits(request.resources, local_capacity())
            if request.resources.workers:
                raise InvalidArgument(
                    "resources.workers (data-parallel fitting on Ray Train) needs backend 'ray'",
                    workers=request.resources.workers,
                )
        elif request.resources.workers and not request.ray_address:  # a local Ray instance
            check_workers(request.resources, local_capacity(), "this machine")
        self._jobs.enforce_quota(owner, 1)  # the team's concurrent_jobs cap, before any run
        held = holds(request.resources)
        self._jobs.enforce_held(owner, cpus=held.cpus, gpus=held.gpus, action="training.submit")
        request.training_set = self._training_input(
            request.training_set, feature_service, entity_df, team=owner
        )
        data, run = self._prepare(request, tags=_source_tags(feature_service))
        spec = JobSpec(
            target=TARGET,
            args={
                "request": request.model_dump(mode="json"),
                "run_id": run.id,
                "data": None if data is None else data.__dict__,
                "project": str(self._ctx.settings.project_dir),
                "principal": self.principal.name,
            },
            kind="training",
            pool=POOL,
            team=owner,
            max_attempts=request.max_attempts,
            timeout=request.timeout,
            memory_mb=request.resources.memory_mb,
            executor=Executor.INPROCESS
            if request.backend is Backend.INPROCESS
            else Executor.SUBPROCESS,
        )
        with self._ctx.mutation("training.submit", team=owner) as m:
            job = self._jobs.queue.enqueue_many(
                [spec], team=owner, created_by=self.principal.name, conn=m.conn
            )[0]
            m.asset = job.asset
            m.details = {"function": request.function, "run_id": run.id}
        self._tracking.update_run(run.id, status=RunStatus.SCHEDULED)
        self._tracking.set_tags(run.id, {"shipyard.training.job_id": job.id})
        return self._present(job)

    def run(
        self,
        function: str | Callable[..., Any],
        *,
        training_set: str | None = None,
        params: dict[str, Any] | None = None,
        resources: Resources | dict[str, Any] | None = None,
        experiment: str = "training",
        run_name: str | None = None,
        register_as: str | None = None,
        parent_run_id: str | None = None,
        trial: Any = None,
        feature_service: str | None = None,
        entity_df: Any = None,
    ) -> dict[str, Any]:
        """Run ``function(ctx)`` now, in this process, as a tracked run (no queue).

        Returns ``{"run_id", "metrics", "model_version"}``; the function's exception
        propagates after its run is ended FAILED with the error and logs.
        """
        fn = function if callable(function) else resolve(function, self._ctx.settings.jobs)
        name = function if isinstance(function, str) else f"{fn.__module__}:{fn.__qualname__}"
        request = parse_request(
            function=name if ":" in name and "<" not in name else "local:function",
            training_set=training_set,
            params=params,
            resources=resources,
            experiment=experiment,
            run_name=run_name,
            register_as=register_as,
            backend="inprocess",
        )
        if request.resources.gpus:
            check_fits(request.resources, local_capacity())
        source = self._training_input(request.training_set, feature_service, entity_df)
        data = self.data_ref(source)
        run = self._tracking.create_run(
            request.experiment,
            run_name=request.run_name or getattr(fn, "__name__", "train"),
            parent_run_id=parent_run_id,
            tags={
                "shipyard.training.function": name,
                "shipyard.training.backend": "inprocess",
                **_source_tags(feature_service),
            },
        )
        out = execute(
            self._tracking,
            self._registry,
            fn,
            run_id=run.id,
            params=request.params,
            resources=request.resources,
            data=data,
            project_dir=self._ctx.settings.project_dir,
            register_as=request.register_as,
            trial=trial,
            capture=trial is None,
            created=run,
        )
        return {"run_id": out.run_id, "metrics": out.metrics, "model_version": out.model_version}

    def get(self, job_id: str) -> TrainingJob:
        """The training job ``job_id`` (a run whose worker died is closed as failed).

        Raises:
            NotFound: no such training job.
        """
        job = self._jobs.get(job_id)
        if job.kind != "training":
            raise NotFound(f"no training job {job_id}")
        return self._present(job)

    def list(
        self,
        *,
        state: str | None = None,
        team: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TrainingJob]:
        """Training jobs newest first, among the teams the caller may read (or ``team``)."""
        page = self._jobs.list(
            state=state, pool=POOL, team=team, limit=limit, page_token=page_token
        )
        items = [self._present(j) for j in page.items if j.kind == "training"]
        return Page[TrainingJob](items=items, next_page_token=page.next_page_token)

    def logs(self, job_id: str) -> str:
        """The captured output of the job's last attempt."""
        self.get(job_id)
        return self._jobs.logs(job_id)

    def cancel(self, job_id: str) -> TrainingJob:
        """Cancel a queued or running training job; its run ends KILLED."""
        self.get(job_id)
        return self._present(self._jobs.cancel(job_id))

    def _present(self, job: Job) -> TrainingJob:
        args = job.args
        request = TrainingRequest.model_validate(args["request"])
        result = job.result if isinstance(job.result, dict) else {}
        out = TrainingJob(
            id=job.id,
            state=job.state.value,
            function=request.function,
            team=job.team,
            run_id=args["run_id"],
            experiment=request.experiment,
            training_set=(args.get("data") or {}).get("ref"),
            params=request.params,
            resources=request.resources,
            backend=request.backend,
            metrics=result.get("metrics") or {},
            model_version=result.get("model_version"),
            error=job.error,
            created_by=job.created_by,
            created_at=job.created_at,
            finished_at=job.finished_at,
        )
        if job.done and job.state is not JobState.SUCCEEDED:
            self._close_orphan(out)
        return out

    def _close_orphan(self, job: TrainingJob) -> None:
        """A job that ended without its worker ending the run (killed worker, cancel,
        lease lost): the run is closed, FAILED (KILLED when cancelled)."""
        try:
            run = self._tracking.get_run(job.run_id)
            if not run.status.terminal:
                status = RunStatus.KILLED if job.state == "cancelled" else RunStatus.FAILED
                self._tracking.set_tags(
                    job.run_id,
                    {"shipyard.training.error": job.error or f"the job ended {job.state}"},
                )
                self._tracking.end_run(job.run_id, status)
        except ShipyardError:  # the caller may read the job but not write the run
            pass

    # -- hyperparameter search --------------------------------------------------------------

    def tune(
        self,
        function: str,
        space: dict[str, Any] | str,
        *,
        n_trials: int = 20,
        metric: str = "auc",
        direction: str = "maximize",
        training_set: str | None = None,
        params: dict[str, Any] | None = None,
        experiment: str = "tuning",
        study_name: str | None = None,
        pruner: str = "median",
        workers: int = 1,
        backend: str = "local",
        register_as: str | None = None,
        timeout: float | None = None,
        ray_address: str | None = None,
        feature_service: str | None = None,
        entity_df: str | None = None,
    ) -> Study:
        """Search ``space`` for the params that optimize ``metric`` of ``function``.

        Trials are child runs of one parent run; the study is stored in the catalog DB
        (Optuna RDB storage), so ``workers`` processes (backend ``jobs``: queued jobs;
        ``local``: threads here; ``ray``: Ray Tune) share it. The best trial's model is
        registered as ``register_as``.

        Raises:
            InvalidArgument: a bad space, metric direction or pruner (before any trial).
        """
        from shipyard.training.tune import Tuner

        tuner = Tuner(self, self._tracking, self._ctx)
        tuner.check(space, metric, direction, pruner, workers, backend, n_trials)
        return tuner.tune(
            function,
            space,
            n_trials=n_trials,
            metric=metric,
            direction=direction,
            training_set=self._training_input(training_set, feature_service, entity_df),
            source_tags=_source_tags(feature_service),
            params=params or {},
            experiment=experiment,
            study_name=study_name,
            pruner=pruner,
            workers=workers,
            backend=backend,
            register_as=register_as,
            timeout=timeout,
            ray_address=ray_address,
        )

    def get_study(self, name: str) -> Study:
        """The study ``name``: its trials by state and its best trial.

        Raises:
            NotFound: no such study.
        """
        from shipyard.training.tune import Tuner

        return Tuner(self, self._tracking, self._ctx).summary(name)
