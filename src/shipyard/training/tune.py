"""Hyperparameter search with Optuna: the study in the catalog DB, trials as child runs.

The study lives in Optuna's RDB storage in the catalog's own database (SQLite or
PostgreSQL, ADRs 0021 and 0045, ``training/storage.py``), so any process that opens
the project (a worker, a Ray task) joins it by name. Every trial is a child run of
the study's parent run; a worker that dies mid-trial stops heartbeating and its
trial (and run) is closed as failed by the next worker or summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard._internal.ids import new_id
from shipyard.errors import Conflict, InvalidArgument, NotFound, ShipyardError
from shipyard.pipelines.functions import check_allowed, resolve
from shipyard.tracking.models import RunStatus
from shipyard.training.context import SearchData
from shipyard.training.execute import execute
from shipyard.training.models import POOL, Resources, Study, TrialResult
from shipyard.training.space import Param, parse_space, space_to_json, suggest
from shipyard.training.storage import quiet, storage

if TYPE_CHECKING:
    import optuna

    from shipyard.catalog.context import ServiceContext
    from shipyard.registry.service import RegistryService
    from shipyard.tracking.service import TrackingService
    from shipyard.training.service import TrainingService

log = logging.getLogger(__name__)
DIRECTIONS = ("maximize", "minimize")
PRUNERS = ("median", "hyperband", "none")
BACKENDS = ("local", "jobs", "ray")
#: Seconds between a worker's checks for trials whose local worker process died.
REAP_EVERY = 2.0


def _pruner(name: str) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def objective(
    tracking: TrackingService,
    registry: Callable[[], RegistryService],
    fn: Callable[..., Any],
    attrs: dict[str, Any],
    project_dir: Path,
) -> Callable[[Any], float]:
    """Optuna's objective: one child run of the study's parent run per trial."""
    space = parse_space(attrs["space"])
    data = SearchData(**attrs["data"]) if attrs.get("data") else None

    def run_trial(trial: Any) -> float:
        if getattr(trial, "study", None) is not None:  # not Ray Tune's fixed trials
            reap_lost(trial.study, every=REAP_EVERY)
        params = {**attrs["fixed"], **suggest(trial, space)}
        run = tracking.create_run(
            attrs["experiment"],
            run_name=f"{attrs['study']}-trial-{trial.number}",
            parent_run_id=attrs["parent_run_id"],
            tags={
                "shipyard.training.study": attrs["study"],
                "shipyard.training.trial": str(trial.number),
                "shipyard.training.function": attrs["function"],
            },
        )
        trial.set_user_attr("run_id", run.id)
        trial.set_user_attr("process", _process())
        out = execute(
            tracking,
            registry,
            fn,
            run_id=run.id,
            params=params,
            resources=Resources(),
            data=data,
            project_dir=project_dir,
            trial=trial,
            capture=False,
            created=run,
        )
        if attrs["metric"] not in out.metrics:
            raise InvalidArgument(
                f"the training function returned no metric '{attrs['metric']}' "
                f"(it returned {sorted(out.metrics)})"
            )
        return out.metrics[attrs["metric"]]

    return run_trial


def _process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


_last_reap = [0.0]


def reap_lost(study: optuna.Study, *, every: float = 0.0) -> int:
    """Fail the running trials whose worker process, on this host, is gone (``kill -9``),
    and queue each one's params once more (a retry is not retried). Workers on other
    hosts are failed by Optuna's heartbeat after ``GRACE`` seconds instead. Runs at most
    once per ``every`` seconds per process; returns the trials failed."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    now = time.monotonic()
    if every and now - _last_reap[0] < every:
        return 0
    _last_reap[0] = now
    host, lost = socket.gethostname(), 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        where, _, pid = str(t.user_attrs.get("process", "")).rpartition(":")
        if where != host or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:  # Optuna's own fail_stale_trials goes through the storage the same way
            if not study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                continue
        except (UpdateFinishedTrialError, RuntimeError):
            continue  # it finished, or another worker reaped it first
        lost += 1
        log.warning("trial %d of %s: its worker %s died", t.number, study.study_name, pid)
        if "failed_trial" not in t.user_attrs:
            study.enqueue_trial(
                t.params, user_attrs={"failed_trial": t.number}, skip_if_exists=False
            )
    return lost


def optimize(
    study: optuna.Study,
    fn_objective: Callable[[Any], float],
    n_trials: int,
    *,
    n_jobs: int = 1,
    timeout: float | None = None,
) -> None:
    """Run trials until the study holds ``n_trials`` finished ones (shared by workers)."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    reap_lost(study)
    left = n_trials - len(study.get_trials(deepcopy=False, states=done))
    if left <= 0:
        return
    study.optimize(
        fn_objective,
        n_trials=left,
        n_jobs=n_jobs,
        timeout=timeout,
        catch=(Exception,),
        callbacks=[MaxTrialsCallback(n_trials, states=done)],
        gc_after_trial=False,
    )
    del optuna


class Tuner:
    """The search use-cases behind ``TrainingService.tune`` and ``get_study``."""

    def __init__(
        self, service: TrainingService, tracking: TrackingService, ctx: ServiceContext
    ) -> None:
        self._service = service
        self._tracking = tracking
        self._ctx = ctx

    def check(
        self,
        space: Any,
        metric: str,
        direction: str,
        pruner: str,
        workers: int,
        backend: str,
        n_trials: int,
    ) -> dict[str, Param]:
        if direction not in DIRECTIONS:
            raise InvalidArgument(f"direction is one of {DIRECTIONS}, not {direction!r}")
        if pruner not in PRUNERS:
            raise InvalidArgument(f"pruner is one of {PRUNERS}, not {pruner!r}")
        if backend not in BACKENDS:
            raise InvalidArgument(f"backend is one of {BACKENDS}, not {backend!r}")
        if not 1 <= n_trials <= 100_000:
            raise InvalidArgument(f"n_trials is between 1 and 100000, not {n_trials}")
        if not 1 <= workers <= 256:
            raise InvalidArgument(f"workers is between 1 and 256, not {workers}")
        if not metric or len(metric) > 250:
            raise InvalidArgument("metric names the value to optimize")
        return parse_space(space)

    def tune(
        self,
        function: str,
        space: Any,
        *,
        n_trials: int,
        metric: str,
        direction: str,
        training_set: str | None,
        source_tags: dict[str, str],
        params: dict[str, Any],
        experiment: str,
        study_name: str | None,
        pruner: str,
        workers: int,
        backend: str,
        register_as: str | None,
        timeout: float | None,
        ray_address: str | None,
    ) -> Study:
        checked = self.check(space, metric, direction, pruner, workers, backend, n_trials)
        if not isinstance(function, str):
            raise InvalidArgument("the function is named 'module:function'")
        check_allowed(function, self._ctx.settings.jobs)
        fname = function
        data = self._service.data_ref(training_set)
        name = study_name or f"{fname.rsplit(':', 1)[-1]}-{new_id()[:8]}"
        options = {
            "n_trials": n_trials,
            "metric": metric,
            "direction": direction,
            "pruner": pruner,
            "workers": workers,
            "backend": backend,
        }
        if backend == "jobs":  # its search workers are jobs: the team's concurrent_jobs cap
            owner = self._tracking.resolve_experiment(experiment).owner
            self._service._jobs.enforce_quota(owner, workers)
            # each search worker holds one CPU: a cpus cap of 0 could never run one
            self._service._jobs.enforce_held(owner, cpus=1, gpus=0, action="training.tune")
        attrs = self._parent(name, fname, checked, experiment, options, params)
        attrs.update(data=None if data is None else data.__dict__, register_as=register_as)
        if data is not None:
            self._tracking.log_input(attrs["parent_run_id"], data.ref)
        if source_tags:
            self._tracking.set_tags(attrs["parent_run_id"], source_tags)
        study = self._create(name, direction, pruner, attrs)
        if backend == "jobs":
            return self._submit_workers(name, attrs, workers, timeout)
        if backend == "ray":
            from shipyard.training.ray_backend import tune_on_ray

            tune_on_ray(self._ctx.settings, self.principal_name, name, attrs, workers, ray_address)
        else:
            resolved = resolve(fname, self._ctx.settings.jobs)
            run = objective(
                self._tracking,
                self._service._registry,
                resolved,
                attrs,
                self._ctx.settings.project_dir,
            )
            optimize(study, run, n_trials, n_jobs=workers, timeout=timeout)
        return self.finish(name)

    def _parent(
        self,
        name: str,
        fname: str,
        space: dict[str, Param],
        experiment: str,
        options: dict[str, Any],
        fixed: dict[str, Any],
    ) -> dict[str, Any]:
        """The study's parent run (its options as params); the study's attributes."""
        parent = self._tracking.create_run(
            experiment,
            run_name=name,
            tags={
                "shipyard.training.study": name,
                "shipyard.training.function": fname,
                "shipyard.training.search_space": json.dumps(space_to_json(space))[:4000],
            },
        )
        self._tracking.log_params(
            parent.id, {**options, **{f"fixed.{k}": v for k, v in fixed.items()}}
        )
        return {
            "study": name,
            "function": fname,
            "metric": options["metric"],
            "experiment": experiment,
            "direction": options["direction"],
            "parent_run_id": parent.id,
            "space": space_to_json(space),
            "fixed": fixed,
            "n_trials": options["n_trials"],
            "team": parent.owner,
        }

    @property
    def principal_name(self) -> str:
        return self._ctx.principal.name

    def _create(self, name: str, direction: str, pruner: str, attrs: dict[str, Any]) -> Any:
        import optuna

        try:
            study = optuna.create_study(
                study_name=name,
                storage=storage(self._ctx.settings),
                direction=optuna.study.StudyDirection[direction.upper()],
                pruner=_pruner(pruner),
            )
        except optuna.exceptions.DuplicatedStudyError:
            from shipyard.errors import AlreadyExists

            raise AlreadyExists(f"study '{name}' exists; pick another name") from None
        for k, v in {**attrs, "pruner": pruner}.items():
            study.set_user_attr(k, v)
        return study

    def _submit_workers(
        self, name: str, attrs: dict[str, Any], workers: int, timeout: float | None
    ) -> Study:
        from shipyard.pipelines.models import Executor, JobSpec
        from shipyard.training.service import TUNE_TARGET

        spec = {
            "target": TUNE_TARGET,
            "args": {
                "study": name,
                "project": str(self._ctx.settings.project_dir),
                "principal": self.principal_name,
            },
            "kind": "training",
            "pool": POOL,
            "team": attrs["team"],
            "timeout": timeout,
            "executor": Executor.SUBPROCESS,
            # a lost worker's job joins the study again at once: it fails the trial the
            # dead process held and carries on (a search worker is idempotent)
            "retry_delay": 0.2,
        }
        with self._ctx.mutation("training.tune", team=attrs["team"]) as m:
            jobs = self._service._jobs.queue.enqueue_many(
                [JobSpec.model_validate(spec) for _ in range(workers)],
                team=attrs["team"],
                created_by=self.principal_name,
                conn=m.conn,
            )
            m.details = {"study": name, "workers": workers}
        out = self.summary(name)
        out.job_ids = [j.id for j in jobs]
        return out

    def load(self, name: str) -> optuna.Study:
        """The study ``name`` with its pruner (authorized as a read of its parent run).

        Raises:
            NotFound: no such study.
        """
        import optuna

        store = storage(self._ctx.settings)
        try:
            attrs = store.get_study_user_attrs(store.get_study_id_from_name(name))
        except KeyError:
            raise NotFound(f"no study '{name}'") from None
        # reading a study is reading its parent run (authorized on the run's team)
        self._tracking.get_run(attrs["parent_run_id"])
        return optuna.load_study(
            study_name=name, storage=store, pruner=_pruner(attrs.get("pruner", "median"))
        )

    def summary(self, name: str) -> Study:
        """The study's trials by state and its best trial; closes the runs of trials whose
        worker died (Optuna fails a trial after its heartbeat stops)."""
        from optuna.storages import fail_stale_trials
        from optuna.trial import TrialState

        study = self.load(name)
        reap_lost(study)
        with quiet():
            fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        attrs = study.user_attrs
        ray_runs = attrs.get("trial_runs") or {}  # trials Ray Tune ran (frozen when linked)

        def run_of(t: Any) -> str | None:
            return t.user_attrs.get("run_id") or ray_runs.get(str(t.number))

        for t in trials:
            lost = run_of(t) if t.state is TrialState.FAIL else None
            if lost:
                self._close(lost)
        best = None
        complete = [t for t in trials if t.state is TrialState.COMPLETE]
        if complete:
            b = study.best_trial
            best = TrialResult(
                number=b.number,
                state=b.state.name.lower(),
                value=b.value,
                params=b.params,
                run_id=run_of(b),
            )
        return Study(
            name=name,
            direction=study.direction.name.lower(),
            metric=attrs["metric"],
            parent_run_id=attrs["parent_run_id"],
            trials=len(trials),
            complete=len(complete),
            pruned=sum(t.state is TrialState.PRUNED for t in trials),
            failed=sum(t.state is TrialState.FAIL for t in trials),
            best=best,
            model_version=attrs.get("model_version"),
        )

    def _close(self, run_id: str) -> None:
        try:
            run = self._tracking.get_run(run_id)
            if not run.status.terminal:
                self._tracking.set_tags(run_id, {"shipyard.training.error": "worker lost"})
                self._tracking.end_run(run_id, RunStatus.FAILED)
        except ShipyardError:
            log.debug("cannot close run %s", run_id, exc_info=True)

    def finish(self, name: str) -> Study:
        """Record the best trial on the parent run, register its model, end the parent."""
        out = self.summary(name)
        study = self.load(name)
        attrs = study.user_attrs
        parent = attrs["parent_run_id"]
        if self._tracking.get_run(parent).status.terminal:  # another worker finished it
            return out
        if out.best is not None and out.best.value is not None:
            try:
                self._tracking.log_batch(
                    parent,
                    metrics=[{"key": f"best_{out.metric}", "value": out.best.value}],
                    tags={
                        "shipyard.training.best_run_id": out.best.run_id or "",
                        "shipyard.training.best_trial": str(out.best.number),
                    },
                )
            except Conflict:  # another worker finished the study meanwhile
                return self.summary(name)
            if attrs.get("register_as") and out.best.run_id and not out.model_version:
                try:
                    mv = self._service._registry().register_model(
                        attrs["register_as"], source=f"runs:/{out.best.run_id}/model"
                    )
                    out.model_version = f"{mv.name}/{mv.version}"
                    study.set_user_attr("model_version", out.model_version)
                except ShipyardError:  # e.g. the function logged no model
                    log.warning("best trial of %s logged no model; nothing registered", name)
        with contextlib.suppress(Conflict):  # two workers finishing at once
            self._tracking.end_run(parent, RunStatus.FINISHED if out.complete else RunStatus.FAILED)
        return out
