"""`shipyard train run|tune|list|show|logs|cancel|study`: thin over ``TrainingService``."""

from __future__ import annotations

import json
from typing import Any

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json
from shipyard.cli._paging import AllOption, LimitOption, list_command
from shipyard.errors import InvalidArgument
from shipyard.training.space import read_space

train = typer.Typer(help="Training jobs and hyperparameter searches.", no_args_is_help=True)


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{option} is not JSON: {exc.msg}") from None
    if not isinstance(parsed, dict):
        raise InvalidArgument(f"{option} must be a JSON object")
    return parsed


@train.command("run")
def run(
    function: str = typer.Argument(..., help="An allowed module:function taking ctx."),
    training_set: str = typer.Option(None, "--training-set", "-t", help="name or name@version."),
    params: str = typer.Option(None, "--params", help="Params as a JSON object."),
    cpus: float = typer.Option(1.0, help="CPUs the job needs."),
    memory_mb: int = typer.Option(None, "--memory-mb", help="Memory limit of the job (MiB)."),
    gpus: int = typer.Option(0, help="GPUs the job needs (refused where none exist)."),
    workers: int = typer.Option(
        None, help="Ray Train data-parallel workers of --cpus each (backend ray, ADR 0036)."
    ),
    experiment: str = typer.Option("training", help="Experiment of the job's run."),
    register_as: str = typer.Option(None, "--register-as", help="Register the model on success."),
    team: str = typer.Option(None, help="Owning team (default: security.default_team)."),
    timeout: float = typer.Option(None, help="Seconds before the job is stopped."),
    backend: str = typer.Option("subprocess", help="subprocess, inprocess or ray."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster (backend ray)."),
    as_json: bool = JsonOption,
) -> None:
    """Queue a tracked training job (a worker of pool 'training' runs it)."""
    job = platform().training.submit(
        function,
        training_set=training_set,
        params=_json_object(params, "--params"),
        resources={"cpus": cpus, "memory_mb": memory_mb, "gpus": gpus, "workers": workers},
        experiment=experiment,
        register_as=register_as,
        team=team,
        timeout=timeout,
        backend=backend,
        ray_address=ray_address,
    )
    if as_json:
        print_json(job)
        return
    console.print(f"queued training job {job.id} (run {job.run_id}, team {job.team})")


@train.command("tune")
def tune(
    function: str = typer.Argument(..., help="An allowed module:function taking ctx."),
    space: str = typer.Option(..., "--space", "-s", help="Search space YAML file."),
    n_trials: int = typer.Option(20, "--trials", "-n", help="Trials in the study."),
    metric: str = typer.Option("auc", help="The metric the function returns to optimize."),
    direction: str = typer.Option("maximize", help="maximize or minimize."),
    training_set: str = typer.Option(None, "--training-set", "-t", help="name or name@version."),
    params: str = typer.Option(None, "--params", help="Fixed params as a JSON object."),
    study: str = typer.Option(None, "--study", help="Study name (default: generated)."),
    pruner: str = typer.Option("median", help="median, hyperband or none."),
    workers: int = typer.Option(1, help="Trials in parallel."),
    backend: str = typer.Option("local", help="local (here), jobs (queued workers) or ray."),
    register_as: str = typer.Option(None, "--register-as", help="Register the best model."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster (backend ray)."),
    as_json: bool = JsonOption,
) -> None:
    """Search the space with Optuna; trials are child runs; the best may be registered."""
    out = platform().training.tune(
        function,
        read_space(space),
        n_trials=n_trials,
        metric=metric,
        direction=direction,
        training_set=training_set,
        params=_json_object(params, "--params"),
        study_name=study,
        pruner=pruner,
        workers=workers,
        backend=backend,
        register_as=register_as,
        ray_address=ray_address,
    )
    if as_json:
        print_json(out)
        return
    _print_study(out)


def _print_study(out: Any) -> None:
    console.print(
        f"study {out.name}: {out.trials} trials ({out.complete} complete, {out.pruned} pruned, "
        f"{out.failed} failed); parent run {out.parent_run_id}"
    )
    if out.best is not None:
        console.print(
            f"best {out.metric} = {out.best.value:.6g} (trial {out.best.number}, "
            f"run {out.best.run_id}) with {json.dumps(out.best.params)}"
        )
    if out.model_version:
        console.print(f"registered {out.model_version}")
    if out.job_ids:
        console.print(f"queued {len(out.job_ids)} search workers: {', '.join(out.job_ids)}")


@train.command("study")
def show_study(name: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """A study's trials by state and its best trial."""
    out = platform().training.get_study(name)
    if as_json:
        print_json(out)
        return
    _print_study(out)


@train.command("list")
def list_jobs(
    job_state: str = typer.Option(None, "--state", help="queued, running, succeeded, ..."),
    team: str = typer.Option(None, help="Only this team."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Training jobs, newest first."""
    svc = platform().training
    list_command(
        lambda **kw: svc.list(state=job_state, team=team, **kw),
        ["id", "state", "function", "team", "run_id", "training_set", "metrics", "error"],
        limit,
        every,
        as_json,
        title="training jobs",
    )


@train.command("show")
def show(job_id: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """One training job: state, run, training set, metrics, model version, error."""
    job = platform().training.get(job_id)
    if as_json:
        print_json(job)
        return
    for key, value in job.model_dump(mode="json").items():
        console.print(f"{key}: {value}")


@train.command("logs")
def logs(job_id: str = typer.Argument(...)) -> None:
    """The captured output of the job's last attempt."""
    console.print(platform().training.logs(job_id), markup=False, highlight=False)


@train.command("cancel")
def cancel(job_id: str = typer.Argument(...)) -> None:
    """Cancel a queued or running training job."""
    job = platform().training.cancel(job_id)
    console.print(f"training job {job.id}: {job.state}")


def register(app: typer.Typer) -> None:
    app.add_typer(train, name="train")
