"""`shipyard runs ...`: experiments and runs, search, compare, history, artifacts."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, fetch, list_command, say_if_more

runs = typer.Typer(help="Experiment runs: list, search, show, compare.", no_args_is_help=True)


def _when(ms: int | None) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def _fmt(value: float | str | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


@runs.command("experiments")
def experiments(
    limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """List experiments."""
    columns = ["id", "name", "owner", "created_by"]
    list_command(platform().tracking.list_experiments, columns, limit, every, as_json)


@runs.command("list")
def list_runs(
    experiment: list[str] = typer.Option(None, "--experiment", "-e", help="Name or id (repeat)."),
    filter: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.auc > 0.8 and (params.model = 'rf' or ...)\""
    ),
    order_by: list[str] = typer.Option(None, "--order-by", "-o", help="e.g. 'metrics.auc DESC'"),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Search runs with the filter grammar (and, or, not, parentheses)."""
    tracking = platform().tracking
    page = fetch(
        lambda **kw: tracking.search_runs(
            experiment or None, filter=filter, order_by=order_by or None, **kw
        ),
        limit=limit,
        every=every,
    )
    say_if_more(page)
    if as_json:
        print_json(page)
        return
    rows = [
        {
            "id": r.id,
            "name": r.name,
            "status": r.status.value,
            "started": _when(r.start_time),
            "metrics": ", ".join(f"{k}={_fmt(v)}" for k, v in r.metrics.items()),
        }
        for r in page.items
    ]
    print_table(rows, ["id", "name", "status", "started", "metrics"])


@runs.command("show")
def show(run_id: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """A run's params, metrics, tags and inputs."""
    run = platform().tracking.get_run(run_id)
    if as_json:
        print_json(run)
        return
    console.print(f"[bold]{run.name}[/bold]  {run.id}  {run.status.value}")
    console.print(
        f"experiment {run.experiment_id}  user {run.user}  "
        f"{_when(run.start_time)} -> {_when(run.end_time)}"
    )
    console.print(f"artifacts: {run.artifact_uri}")
    print_table(
        [{"key": k, "value": v} for k, v in run.params.items()], ["key", "value"], title="params"
    )
    print_table(
        [{"key": m.key, "value": _fmt(m.value), "step": m.step} for m in run.latest_metrics],
        ["key", "value", "step"],
        title="metrics",
    )
    if run.inputs:
        print_table(run.inputs, ["ref", "context"], title="inputs")
    tags = {k: v for k, v in run.tags.items() if not k.startswith(("mlflow.", "shipyard."))}
    if tags:
        print_table(
            [{"key": k, "value": v} for k, v in tags.items()], ["key", "value"], title="tags"
        )


@runs.command("compare")
def compare(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids."),
    as_json: bool = JsonOption,
) -> None:
    """Params and metrics side by side (differing params marked with *)."""
    cmp = platform().tracking.compare_runs(run_ids)
    if as_json:
        print_json(cmp)
        return
    columns = ["", *[f"{n} ({i[:8]})" for n, i in zip(cmp.run_names, cmp.run_ids, strict=True)]]
    rows = []
    for key, values in cmp.params.items():
        mark = " *" if key in cmp.differing_params else ""
        rows.append(
            {
                "": f"params.{key}{mark}",
                **{c: _fmt(v) for c, v in zip(columns[1:], values, strict=True)},
            }
        )
    for key, mvalues in cmp.metrics.items():
        rows.append(
            {
                "": f"metrics.{key}",
                **{c: _fmt(v) for c, v in zip(columns[1:], mvalues, strict=True)},
            }
        )
    print_table(rows, columns)


@runs.command("history")
def history(
    run_id: str = typer.Argument(...), metric: str = typer.Argument(...), as_json: bool = JsonOption
) -> None:
    """Every logged value of one metric."""
    values = platform().tracking.get_metric_history(run_id, metric)
    if as_json:
        print_json(values)
        return
    print_table(
        [{"step": m.step, "value": _fmt(m.value), "time": _when(m.timestamp)} for m in values],
        ["step", "value", "time"],
    )


@runs.command("artifacts")
def artifacts(
    run_id: str = typer.Argument(...),
    path: str = typer.Argument(None),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """List a run's artifacts (under PATH)."""
    list_command(
        lambda **kw: platform().tracking.list_artifacts(run_id, path, **kw),
        ["path", "is_dir", "file_size"],
        limit,
        every,
        as_json,
    )


@runs.command("delete")
def delete(run_id: str = typer.Argument(...)) -> None:
    """Mark a run deleted (restore it with `runs restore`)."""
    platform().tracking.set_run_lifecycle(run_id, "deleted")
    console.print(f"deleted run {run_id}")


@runs.command("restore")
def restore(run_id: str = typer.Argument(...)) -> None:
    """Bring a deleted run back."""
    platform().tracking.set_run_lifecycle(run_id, "active")
    console.print(f"restored run {run_id}")


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app."""
    app.add_typer(runs, name="runs")
