"""`shipyard monitors list|run`: the monitors the project's files declare (``monitors:`` in
platform.yaml, made by ``shipyard platform plan/apply``), each a scheduled pipeline with a
drift step and a report step (docs/monitoring.md#monitors)."""

from __future__ import annotations

from typing import Any

import typer

from shipyard.cli._common import JsonOption, platform, print_json, print_table

monitors = typer.Typer(
    help="Monitors: scheduled drift runs declared in platform.yaml (plan/apply).",
    no_args_is_help=True,
)


def _row(info: Any, last: Any) -> dict[str, Any]:
    steps = info.spec.get("steps") or [{}]
    args = dict(steps[0].get("args") or {})
    return {
        "name": info.name,
        "deployment": args.pop("deployment", None),
        "schedule": (info.spec.get("schedule") or {}).get("cron"),
        "paused": info.paused,
        "settings": args,
        "last_run": last.state.value if last else None,
        "last_run_at": last.created_at if last else None,
    }


@monitors.command("list")
def list_monitors(as_json: bool = JsonOption) -> None:
    """Every monitor you may read, with its schedule, settings and last run."""
    from shipyard.platform_code.planners import MONITOR_TAG

    p = platform()
    rows = []
    for info in p.pipelines.list():
        if MONITOR_TAG in (info.spec.get("tags") or []):
            last = p.pipelines.list_runs(info.name, limit=1).items
            rows.append(_row(info, last[0] if last else None))
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["name", "deployment", "schedule", "paused", "settings", "last_run"])


@monitors.command("run")
def run_monitor(name: str, as_json: bool = JsonOption) -> None:
    """Run a monitor now, off its schedule (a worker runs its steps)."""
    from shipyard.errors import InvalidArgument
    from shipyard.platform_code.planners import MONITOR_TAG

    p = platform()
    if MONITOR_TAG not in (p.pipelines.get(name).spec.get("tags") or []):
        raise InvalidArgument(f"pipeline '{name}' is not a monitor")
    run = p.pipelines.run(name)
    if as_json:
        print_json(run)
        return
    typer.echo(f"run {run.id} of monitor {name}: {run.state.value}")
