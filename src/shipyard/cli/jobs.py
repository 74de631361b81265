"""`shipyard jobs list|show|logs|wait|cancel|submit|prune` and `shipyard worker`: thin over ``JobService``."""

from __future__ import annotations

import json
import math

import typer

from shipyard._internal.job import TERMINAL, JobState
from shipyard.cli._common import (
    JsonOption,
    console,
    first_line,
    platform,
    print_json,
    print_table,
    state,
)
from shipyard.cli._paging import AllOption, LimitOption, fetch, say_if_more
from shipyard.errors import InvalidArgument

jobs = typer.Typer(help="Jobs: the durable queue that workers run.", no_args_is_help=True)


@jobs.command("submit")
def submit(
    target: str = typer.Argument(..., help="An allowed module:function."),
    args: str = typer.Option("{}", "--args", help="Keyword arguments as a JSON object."),
    pool: str = typer.Option("default", help="Worker pool."),
    team: str = typer.Option(None, help="Owning team (default: security.default_team)."),
    priority: int = typer.Option(0, help="Higher runs first."),
    max_attempts: int = typer.Option(3, help="Attempts before the job is dead."),
    timeout: float = typer.Option(None, help="Seconds per attempt."),
    key: str = typer.Option(None, "--key", help="Idempotency key: a retry queues nothing."),
    executor: str = typer.Option("subprocess", help="subprocess or inprocess."),
    as_json: bool = JsonOption,
) -> None:
    """Queue one job."""
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"--args is not JSON: {exc.msg}") from None
    if not isinstance(parsed, dict):
        raise InvalidArgument("--args must be a JSON object")
    job = platform().jobs.submit(
        target,
        parsed,
        pool=pool,
        team=team,
        priority=priority,
        max_attempts=max_attempts,
        timeout=timeout,
        idempotency_key=key,
        executor=executor,
    )
    if as_json:
        print_json(job)
        return
    console.print(f"queued job {job.id} ({job.target}, pool {job.pool}, team {job.team})")


@jobs.command("list")
def list_jobs(
    job_state: str = typer.Option(None, "--state", help="queued, running, succeeded, ..."),
    pool: str = typer.Option(None, help="Only this pool."),
    team: str = typer.Option(None, help="Only this team."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Jobs, newest first."""
    svc = platform().jobs
    page = fetch(
        lambda **kw: svc.list(state=job_state, pool=pool, team=team, **kw), limit=limit, every=every
    )
    say_if_more(page)
    if as_json:
        print_json(page.items)
        return
    cols = ["id", "state", "target", "pool", "team", "attempts", "created_at", "error"]
    print_table(page.items, cols, title="jobs")


@jobs.command("show")
def show(job_id: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """One job: state, attempts, times, error and result."""
    job = platform().jobs.get(job_id)
    if as_json:
        print_json(job)
        return
    for name in ("id", "state", "target", "args", "pool", "team", "executor", "priority"):
        console.print(f"{name}: {getattr(job, name)}", markup=False, highlight=False)
    console.print(f"attempts: {job.attempts}/{job.max_attempts}", markup=False)
    for name in ("worker_id", "created_by", "created_at", "started_at", "finished_at"):
        console.print(f"{name}: {getattr(job, name) or ''}", markup=False, highlight=False)
    if job.error:
        console.print(f"error: {job.error}", markup=False, highlight=False)
    if job.result is not None:
        console.print(f"result: {json.dumps(job.result)}", markup=False, highlight=False)


@jobs.command("logs")
def logs(job_id: str = typer.Argument(...)) -> None:
    """The captured stdout, stderr and logging of the job's last attempt."""
    typer.echo(platform().jobs.logs(job_id), nl=False)


#: ``jobs wait``'s exit code when the job has not ended by ``--timeout`` (as ``timeout(1)``).
TIMED_OUT = 124


@jobs.command("wait")
def wait(
    job_id: str = typer.Argument(...),
    timeout: float = typer.Option(
        None, "--timeout", min=0, help="Seconds to wait at most (default: until it ends)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Wait for a job to end and print it.

    Exit 0 if it succeeded, 1 if it failed, died or was cancelled (the reason on stderr),
    124 if it was still queued or running at --timeout.
    """
    job = platform().jobs.wait(job_id, timeout=math.inf if timeout is None else timeout)
    if as_json:
        print_json(job)
    else:
        console.print(f"job {job.id}: {job.state.value}", markup=False, highlight=False)
        if job.state is JobState.SUCCEEDED and job.result is not None:
            console.print(f"result: {json.dumps(job.result)}", markup=False, highlight=False)
    if job.state is JobState.SUCCEEDED:
        return
    if job.state in TERMINAL:
        reason = f": {first_line(job.error)}" if job.error else ""
        typer.echo(f"job {job.id} {job.state.value}{reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"job {job.id} still {job.state.value} after {timeout:g}s", err=True)
    raise typer.Exit(TIMED_OUT)


@jobs.command("cancel")
def cancel(job_id: str = typer.Argument(...)) -> None:
    """Cancel a queued or running job."""
    job = platform().jobs.cancel(job_id)
    console.print(f"job {job.id}: {job.state.value}")


@jobs.command("prune")
def prune(
    older_than: float = typer.Option(
        None, "--older-than", help="Days (default: jobs.retention_days)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, delete nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Delete finished jobs and pipeline runs past retention (admins of every team)."""
    out = platform().jobs.prune(older_than_days=older_than, dry_run=dry_run)
    if as_json:
        print_json(out)
        return
    verb = "would delete" if out.dry_run else "deleted"
    console.print(
        f"{verb} {out.jobs} job(s) ({out.periodic_jobs} periodic), {out.runs} run(s) "
        f"with {out.step_jobs} step job(s), {out.ticks} tick(s)"
        + (f" in {out.seconds:g} s" if not out.dry_run else ""),
        markup=False,
        highlight=False,
    )


def worker(
    processes: int = typer.Option(1, "--processes", "-n", min=1, help="Worker processes."),
    pool: list[str] = typer.Option(["default"], "--pool", help="Pools to serve, repeatable."),
    batch: int = typer.Option(1, min=1, help="Jobs claimed at once per process."),
    scheduler: bool = typer.Option(
        False, "--scheduler", help="Also run the pipeline scheduler (cron ticks, triggers)."
    ),
) -> None:
    """Run workers until SIGTERM (which drains: running jobs finish, none is claimed)."""
    from shipyard.pipelines.worker import run_workers
    from shipyard.platform import Platform

    platform()  # fail fast (and migrate once) before starting processes
    state.close()
    console.print(f"worker: {processes} process(es) on pool(s) {', '.join(pool)}")
    code = run_workers(
        state.project,
        open_platform=Platform.open,
        processes=processes,
        pools=pool,
        batch=batch,
        scheduler=scheduler,
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs, name="jobs")
    app.command("worker")(worker)
