"""`shipyard audit list`, `shipyard audit verify`"""

from __future__ import annotations

from datetime import datetime

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json
from shipyard.cli._paging import AllOption, LimitOption, list_command

app = typer.Typer(
    help="Who did what, when, to which asset, and how it ended.", no_args_is_help=True
)


@app.command("list")
def list_audit(
    principal: str = typer.Option(None, help="Only this principal."),
    action: str = typer.Option(None, help="Action, '*' as wildcard (e.g. 'lake.*')."),
    asset: str = typer.Option(None, help="Asset, '*' as wildcard."),
    outcome: str = typer.Option(None, help="ok, denied or error."),
    since: datetime = typer.Option(None, help="From this time (UTC)."),
    until: datetime = typer.Option(None, help="Before this time (UTC)."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """List audit records, newest first, filtered by who, what and when."""
    list_command(
        lambda **kw: platform().audit.list_records(
            principal=principal,
            action=action,
            asset=asset,
            outcome=outcome,
            since=since,
            until=until,
            **kw,
        ),
        ["id", "ts", "principal", "action", "asset", "outcome"],
        limit,
        every,
        as_json,
        rows=lambda r: {**r.model_dump(), "ts": f"{r.ts:%Y-%m-%d %H:%M:%S}"},
        whole_page=True,
    )


@app.command("verify")
def verify_audit(as_json: bool = JsonOption) -> None:
    """Check the audit log's hash chain; exit 1 at the first edited, deleted,
    inserted or reordered row."""
    report = platform().audit.verify()
    if as_json:
        print_json(report)
    elif report.problem is None:
        console.print(
            f"audit log intact: {report.rows_checked} rows, head {report.head_id} "
            f"{report.head_hash}"
        )
    else:
        console.print(
            f"[red]audit log broken at row {report.problem.id} ({report.problem.kind}):[/red] "
            f"{report.problem.message} ({report.rows_checked} rows verified before it)"
        )
    if not report.ok:
        raise typer.Exit(1)
