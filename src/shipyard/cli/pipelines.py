"""`shipyard pipelines ...` and `shipyard scheduler`: thin over ``PipelineService``."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from shipyard.cli._common import (
    JsonOption,
    QuietOption,
    console,
    platform,
    print_json,
    print_table,
    progress,
)
from shipyard.cli._paging import AllOption, LimitOption, fetch, say_if_more
from shipyard.errors import InvalidArgument

pipelines = typer.Typer(help="Pipelines: DAGs of steps run by workers.", no_args_is_help=True)

PathsArg = typer.Argument(
    None, help="Definition files or folders (default: pipelines.py, pipelines/)."
)
_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "unchanged": " "}


def _definitions(paths: list[Path] | None) -> list[Any]:
    from shipyard.pipelines.loader import default_paths, load_pipelines

    p = platform()
    chosen = list(paths) if paths else default_paths(p.settings.project_dir)
    if not chosen:
        raise InvalidArgument(
            f"no pipeline files: put them in {p.settings.project_dir}/pipelines.py or pipelines/"
        )
    return load_pipelines(chosen)


def _print_plan(plan: list[dict[str, Any]], applied: bool) -> None:
    for c in plan:
        console.print(f"{_SYMBOL[c['action']]} pipeline [bold]{c['name']}[/bold]")
        for d in c["diff"]:
            console.print(f"    {d}", markup=False)
    pending = sum(c["action"] != "unchanged" for c in plan)
    verb = "applied" if applied else "to apply"
    console.print(f"{pending} change(s) {verb}, {len(plan) - pending} unchanged")


@pipelines.command("plan")
def plan(paths: list[Path] = PathsArg, as_json: bool = JsonOption) -> None:
    """Show what `shipyard pipelines apply` would create or change (refuses bad definitions)."""
    result = platform().pipelines.plan(_definitions(paths))
    print_json(result) if as_json else _print_plan(result, applied=False)


@pipelines.command("apply")
def apply(paths: list[Path] = PathsArg, as_json: bool = JsonOption) -> None:
    """Create or update pipelines in the catalog."""
    result = platform().pipelines.apply(_definitions(paths))
    print_json(result) if as_json else _print_plan(result, applied=True)


@pipelines.command("list")
def list_pipelines(as_json: bool = JsonOption) -> None:
    """Pipelines you may read."""
    items = platform().pipelines.list()
    if as_json:
        print_json(items)
        return
    rows = [
        {
            "name": i.name,
            "owner": i.owner,
            "version": i.version,
            "steps": len(i.spec["steps"]),
            "schedule": (i.spec.get("schedule") or {}).get("cron", ""),
            "paused": i.paused,
        }
        for i in items
    ]
    print_table(
        rows, ["name", "owner", "version", "steps", "schedule", "paused"], title="pipelines"
    )


@pipelines.command("show")
def show(name: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """One pipeline: its steps, schedule and triggers."""
    info = platform().pipelines.get(name)
    if as_json:
        print_json(info)
        return
    spec = info.spec
    console.print(f"pipeline {info.name} v{info.version} (owner {info.owner})", markup=False)
    if spec.get("schedule"):
        s = spec["schedule"]
        paused = " [paused]" if info.paused else ""
        console.print(
            f"schedule: {s['cron']} {s['timezone']} catchup={s['catchup']}{paused}", markup=False
        )
    trig = spec.get("triggers") or {}
    for kind in ("tables", "topics"):
        if trig.get(kind):
            shown = [_trigger(t) for t in trig[kind]]
            console.print(f"on {kind}: {', '.join(shown)}", markup=False)
    for other, table in platform().pipelines.downstream(name):
        console.print(f"its runs start: {other} (on {table})", markup=False)
    for s in spec["steps"]:
        what = s.get("action") or s.get("function")
        after = f" after {', '.join(s['after'])}" if s["after"] else ""
        console.print(f"  {s['name']}: {what} {json.dumps(s['args'])}{after}", markup=False)


def _trigger(t: Any) -> str:
    """A trigger as stored: a name, or ``{"topic", "where"}`` (a filtered topic)."""
    if isinstance(t, dict):
        return f"{t.get('topic')} where {json.dumps(t.get('where'), sort_keys=True)}"
    return str(t)


def _print_run(run: Any) -> None:
    console.print(
        f"run {run.id} of {run.pipeline}: {run.state.value}"
        + (f" (partition {run.partition})" if run.partition else ""),
        markup=False,
    )
    for step, st in run.steps.items():
        console.print(f"  {step}: {st['state']}", markup=False)
    if run.error:
        console.print(f"error: {run.error}", markup=False, highlight=False)


@pipelines.command("run")
def run_pipeline(
    name: str = typer.Argument(...),
    partition: str = typer.Option(None, help="Day of a daily-partitioned pipeline (YYYY-MM-DD)."),
    wait: bool = typer.Option(False, "--wait", help="Wait until the run ends (a worker runs it)."),
    timeout: float = typer.Option(600, help="Seconds to wait at most."),
    as_json: bool = JsonOption,
) -> None:
    """Start a run: its first steps are queued for workers."""
    p = platform()
    run = p.pipelines.run(name, partition=partition)
    deadline = time.monotonic() + timeout
    while wait and run.state.value == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        run = p.pipelines.get_run(run.id)
    if as_json:
        print_json(run)
        return
    _print_run(run)
    if wait and run.state.value != "succeeded":
        raise typer.Exit(1)


@pipelines.command("runs")
def runs(
    name: str = typer.Argument(None, help="Only this pipeline."),
    run_state: str = typer.Option(None, "--state", help="running, succeeded, failed, cancelled."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Runs, newest first."""
    svc = platform().pipelines
    page = fetch(lambda **kw: svc.list_runs(name, state=run_state, **kw), limit=limit, every=every)
    say_if_more(page)
    if as_json:
        print_json(page.items)
        return
    rows = [
        {
            "id": r.id,
            "pipeline": r.pipeline,
            "state": r.state.value,
            "trigger": r.trigger,
            "partition": r.partition or "",
            "created_at": r.created_at,
            "error": r.error or "",
        }
        for r in page.items
    ]
    cols = ["id", "pipeline", "state", "trigger", "partition", "created_at", "error"]
    print_table(rows, cols, title="runs")


@pipelines.command("logs")
def logs(
    run_id: str = typer.Argument(...), step: str = typer.Option(None, help="One step.")
) -> None:
    """Each step's captured output (last attempt)."""
    for name, text in platform().pipelines.logs(run_id).items():
        if step is None or step == name:
            typer.echo(f"== {name}")
            typer.echo(text, nl=False)


@pipelines.command("cancel")
def cancel(run_id: str = typer.Argument(...)) -> None:
    """Cancel a run: queued and running steps stop, pending ones never start."""
    run = platform().pipelines.cancel_run(run_id)
    _print_run(run)


@pipelines.command("pause")
def pause(name: str = typer.Argument(...)) -> None:
    """Stop the schedule and triggers (missed ticks follow the catch-up policy on resume)."""
    platform().pipelines.pause(name)
    console.print(f"pipeline {name}: paused", markup=False)


@pipelines.command("resume")
def resume(name: str = typer.Argument(...)) -> None:
    """Start scheduling again."""
    platform().pipelines.resume(name)
    console.print(f"pipeline {name}: resumed", markup=False)


@pipelines.command("backfill")
def backfill(
    name: str = typer.Argument(...),
    start: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First day."),
    end: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last day (inclusive)."),
    wait: bool = typer.Option(False, "--wait", help="Show progress until every run ended."),
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """One run per day from --from to --to, queued at once; --wait shows progress."""
    p = platform()
    t0 = time.perf_counter()
    result = p.pipelines.backfill(name, start.date(), end.date())
    took = time.perf_counter() - t0
    if not as_json:
        console.print(
            f"backfill {result.backfill_id}: {result.partitions} run(s) queued in {took:.2f} s",
            markup=False,
        )
    counts = p.pipelines.backfill_progress(result.backfill_id or "")
    if wait:
        with progress("backfill", "runs", quiet=quiet) as on_progress:
            while counts.get("running", 0):
                if on_progress is not None:
                    on_progress(result.partitions - counts.get("running", 0), result.partitions)
                time.sleep(0.5)
                counts = p.pipelines.backfill_progress(result.backfill_id or "")
            if on_progress is not None:
                on_progress(result.partitions, result.partitions)
    if as_json:
        print_json({**result.model_dump(exclude={"runs"}), "states": counts})
        return
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())), markup=False)
    if wait and counts.get("failed", 0):
        raise typer.Exit(1)


def scheduler(
    interval: float = typer.Option(1.0, help="Seconds between passes."),
) -> None:
    """Run the scheduler until SIGTERM: cron ticks and triggers start pipeline runs."""
    sched = platform().pipelines.scheduler(interval=interval)
    signal.signal(signal.SIGTERM, sched.stop)
    signal.signal(signal.SIGINT, sched.stop)
    console.print(f"scheduler: a pass every {interval:g} s", markup=False)
    sched.run()


def register(app: typer.Typer) -> None:
    app.add_typer(pipelines, name="pipelines")
    app.command("scheduler")(scheduler)
