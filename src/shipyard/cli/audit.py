"""`shipyard audit list`"""

from __future__ import annotations

from datetime import datetime

import typer

from shipyard.cli._common import JsonOption, platform, print_json, print_table

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
    limit: int = typer.Option(100, help="At most this many, newest first."),
    as_json: bool = JsonOption,
) -> None:
    page = platform().audit.list_records(
        principal=principal,
        action=action,
        asset=asset,
        outcome=outcome,
        since=since,
        page_size=limit,
    )
    if as_json:
        print_json(page)
        return
    print_table(page.items, ["id", "ts", "principal", "action", "asset", "outcome"])
