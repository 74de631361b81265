"""Training on Ray: a job's function as a Ray task, a search as Ray Tune trials.

``ray`` is imported only here (the ``ray`` extra). Without ``ray_address`` a local
Ray instance is started; with one, the job connects to that cluster. Each task
opens the project itself and reads its training set from the lake by its Delta
version (``ctx.arrow()`` / ``ctx.ray_dataset()``): no row passes through the driver.
A remote cluster must reach the same catalog URL and lake root (PostgreSQL, S3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import BackendUnavailable
from shipyard.training.models import Resources, TrainingRequest
from shipyard.training.resources import check_fits

if TYPE_CHECKING:
    from shipyard.config import Settings


def connect(address: str | None, num_cpus: int | None = None) -> Any:
    """A Ray connection (an already initialised one is reused)."""
    try:
        import ray
    except ImportError:
        raise BackendUnavailable(
            "backend 'ray' needs the ray extra: pip install shipyard[ray]"
        ) from None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "ignore_reinit_error": True,
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if address:
            kwargs["address"] = address
        else:
            kwargs["num_cpus"] = num_cpus
        try:
            ray.init(**kwargs)
        except ConnectionError as exc:
            raise BackendUnavailable(f"cannot reach the Ray cluster at {address}: {exc}") from None
    return ray


def capacity(ray: Any) -> Resources:
    total = ray.cluster_resources()
    memory = int(total.get("memory", 0) // (1024 * 1024)) or None
    return Resources(
        cpus=float(total.get("CPU", 1)), memory_mb=memory, gpus=int(total.get("GPU", 0))
    )


#: What opens the project inside a Ray worker: named, not imported (it imports ``Platform``,
#: which imports this package).
RUNNER = "shipyard.training_jobs"


def _runner(name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(RUNNER), name)


def _task(
    project: str, principal: str, request: dict[str, Any], run_id: str, data: dict[str, Any] | None
) -> dict[str, Any]:
    execute_in = _runner("execute_in")
    return dict(
        execute_in(project, principal, TrainingRequest.model_validate(request), run_id, data)
    )


def run_on_ray(
    req: TrainingRequest, run_id: str, data: dict[str, Any] | None, project: str, principal: str
) -> dict[str, Any]:
    """Run the job as one Ray task holding its CPUs, GPUs and memory."""
    ray = connect(req.ray_address)
    check_fits(req.resources, capacity(ray), "the Ray cluster")
    options: dict[str, Any] = {
        "num_cpus": req.resources.cpus,
        "num_gpus": req.resources.gpus,
        "max_retries": 0,
    }
    if req.resources.memory_mb:
        options["memory"] = req.resources.memory_mb * 1024 * 1024
    remote = ray.remote(_task).options(**options)
    ref = remote.remote(project, principal, req.model_dump(mode="json"), run_id, data)
    return dict(ray.get(ref, timeout=req.timeout))


def _trainable(config: dict[str, Any]) -> None:
    """One Ray Tune trial: a child run of the study's parent, recorded like a local trial."""
    from ray import tune

    from shipyard.pipelines.functions import resolve
    from shipyard.training.tune import objective

    meta = config["__shipyard"]
    p = _runner("open_as")(meta["project"], meta["principal"])
    attrs = meta["attrs"]
    fn = resolve(attrs["function"], p.settings.jobs)
    params = {k: v for k, v in config.items() if k != "__shipyard"}
    trial = _FixedTrial(params, attrs["metric"])
    value = objective(p.tracking, lambda: p.registry, fn, attrs, p.settings.project_dir)(trial)
    p.tracking.flush()
    tune.report({attrs["metric"]: value, "run_id": trial.user_attrs["run_id"]})


class _FixedTrial:
    """The params Ray Tune's Optuna searcher chose, offered through Optuna's trial API."""

    def __init__(self, params: dict[str, Any], metric: str) -> None:
        self.params = params
        self.metric = metric
        self.user_attrs: dict[str, Any] = {}
        self.number = int(params.get("__number", 0))

    def suggest_float(self, name: str, *_: Any, **__: Any) -> Any:
        return self.params[name]

    suggest_int = suggest_categorical = suggest_float

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def report(self, value: float, step: int) -> None:
        from ray import tune

        tune.report({self.metric: value, "step": step})

    def should_prune(self) -> bool:
        return False


class _DefineByRun:
    """Optuna's define-by-run space for Ray's searcher (a class: the searcher is pickled)."""

    def __init__(self, space: dict[str, Any]) -> None:
        self.space = space

    def __call__(self, trial: Any) -> None:
        from shipyard.training.space import parse_space, suggest

        suggest(trial, parse_space(self.space))


def tune_on_ray(
    settings: Settings,
    principal: str,
    study: str,
    attrs: dict[str, Any],
    workers: int,
    address: str | None,
) -> None:
    """Ray Tune trials, sampled by Optuna on the study in the catalog DB."""
    ray = connect(address)
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from shipyard.training.storage import storage

    search = OptunaSearch(
        space=_DefineByRun(attrs["space"]),
        metric=attrs["metric"],
        mode="max" if attrs.get("direction", "maximize") == "maximize" else "min",
        study_name=study,
        storage=storage(settings, heartbeat=False),
    )
    meta = {"project": str(settings.project_dir), "principal": principal, "attrs": attrs}
    tuner = tune.Tuner(
        tune.with_resources(_trainable, {"cpu": 1}),
        param_space={"__shipyard": meta},
        tune_config=tune.TuneConfig(
            search_alg=search,
            num_samples=int(attrs["n_trials"]),
            max_concurrent_trials=workers,
            reuse_actors=True,  # a trial process keeps its opened project and imports
        ),
        run_config=tune.RunConfig(storage_path=str(settings.home_dir / "ray_results"), verbose=0),
    )
    results = tuner.fit()
    _link_runs(study, settings, results)
    del ray


def _link_runs(study: str, settings: Settings, results: Any) -> None:
    """Ray's searcher told Optuna each trial's value; add the trial's run id to it."""
    import json

    import optuna

    from shipyard.training.storage import storage

    s = optuna.load_study(study_name=study, storage=storage(settings))
    key = lambda params: json.dumps(params, sort_keys=True, default=str)  # noqa: E731
    open_trials = {
        key(t.params): t for t in s.get_trials(deepcopy=False) if "run_id" not in t.user_attrs
    }
    runs = dict(s.user_attrs.get("trial_runs") or {})
    for r in results:
        run_id = (r.metrics or {}).get("run_id")
        config = {k: v for k, v in (r.config or {}).items() if k != "__shipyard"}
        t = open_trials.pop(key(config), None)
        if run_id and t is not None:  # a finished trial's attributes are frozen: the study's
            runs[str(t.number)] = run_id
    s.set_user_attr("trial_runs", runs)
