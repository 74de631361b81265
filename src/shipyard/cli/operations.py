"""`shipyard quotas set|delete|list`, `shipyard usage meter|report`"""

from __future__ import annotations

from datetime import datetime

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command

quotas = typer.Typer(
    help="Caps per team and per principal: request rate, concurrent jobs, storage, "
    "deployments, online rows.",
    no_args_is_help=True,
)
usage = typer.Typer(help="Metered usage (datasets.usage) and its cost.", no_args_is_help=True)


@quotas.command("set")
def set_quota(
    scope: str = typer.Argument(..., help="team or principal"),
    subject: str = typer.Argument(..., help="The team's or principal's name."),
    resource: str = typer.Argument(
        ...,
        help="requests_per_second, concurrent_jobs, storage_bytes, deployments, online_rows, "
        "cpus or gpus",
    ),
    limit: int = typer.Argument(..., help="The cap (0 refuses everything)."),
    as_json: bool = JsonOption,
) -> None:
    """Create or replace a quota (admins)."""
    q = platform().quotas.set_quota(scope, subject, resource, limit)
    if as_json:
        print_json(q)
    else:
        console.print(f"{q.resource.value} of {q.scope.value} '{q.subject}' capped at {q.limit}")


@quotas.command("delete")
def delete_quota(
    scope: str = typer.Argument(...),
    subject: str = typer.Argument(...),
    resource: str = typer.Argument(...),
) -> None:
    """Lift a quota (admins)."""
    q = platform().quotas.delete_quota(scope, subject, resource)
    console.print(f"lifted the {q.resource.value} quota of {q.scope.value} '{q.subject}'")


@quotas.command("list")
def list_quotas(
    scope: str = typer.Option(None, help="team or principal"),
    subject: str = typer.Option(None, help="Only this team or principal."),
    resource: str = typer.Option(None, help="Only this resource."),
    with_usage: bool = typer.Option(False, "--usage", help="Measure what each uses now."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Quotas you may see (admins: all), with current use when asked."""
    svc = platform().quotas
    list_command(
        lambda **kw: svc.list_quotas(
            scope=scope, subject=subject, resource=resource, with_usage=with_usage, **kw
        ),
        ["scope", "subject", "resource", "limit", "used", "updated_by"],
        limit,
        every,
        as_json,
        rows=lambda s: {**s.quota.model_dump(), "used": s.used},
        whole_page=True,
    )


@usage.command("meter")
def meter(
    hour: datetime = typer.Option(None, help="Start of the hour (UTC); default the last one."),
    as_json: bool = JsonOption,
) -> None:
    """Write one hour of usage to datasets.usage (admins; run it hourly)."""
    out = platform().usage.meter(hour)
    if as_json:
        print_json(out)
    elif out.skipped:
        console.print(f"{out.hour:%Y-%m-%d %H:00} was already metered")
    else:
        console.print(
            f"metered {out.hour:%Y-%m-%d %H:00}: {out.rows} rows, {out.cpu_seconds:.1f} CPU-s "
            f"used, {out.idle_cpu_seconds:.1f} CPU-s idle"
        )


@usage.command("report")
def report(
    by: str = typer.Option("team", help="team, principal, resource or kind"),
    month: str = typer.Option(None, help="YYYY-MM (default: this month)."),
    team: str = typer.Option(None, help="Only this team."),
    as_json: bool = JsonOption,
) -> None:
    """A month of usage summed per team (or principal, resource, kind), with its cost."""
    rep = platform().usage.report(by=by, month=month, team=team)
    if as_json:
        print_json(rep)
        return
    rows = [line.model_dump() for line in rep.lines]
    cols = ["key", "cpu_seconds", "requests", "compute_seconds", "stored_bytes", "online_rows"]
    print_table(rows, [*cols, "cost"], title=f"usage {rep.month} by {rep.by} ({rep.hours} h)")
    console.print(f"total {rep.total_cost:.2f} {rep.currency}")
