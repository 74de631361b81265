"""`shipyard tokens ...` and `shipyard principals ...`"""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.markup import escape

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command
from shipyard.errors import AlreadyExists, InvalidArgument

tokens = typer.Typer(help="API tokens: shown once, stored hashed.", no_args_is_help=True)
principals = typer.Typer(
    help="Users and service accounts, and their roles per team.", no_args_is_help=True
)


@tokens.command("create")
def create_token(
    principal: str = typer.Option(None, help="For this principal (default: yourself)."),
    name: str = typer.Option("default", help="A label for the token."),
    expires_in_days: float = typer.Option(90, help="Days until it expires; 0 for never."),
    role: str = typer.Option(
        None, help="Give --principal this role first (created as a service if new)."
    ),
    team: str = typer.Option(None, help="Team of --role (default team if omitted)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the token."),
    as_json: bool = JsonOption,
) -> None:
    """Mint an API token; with --principal and --role, create that principal first."""
    security = platform().security
    if role is not None:
        if principal is None:
            raise InvalidArgument("--role needs --principal (whose role it is)")
        _ensure_role(principal, team=team, role=role)
    new = security.create_token(
        principal=principal,
        name=name,
        expires_in=timedelta(days=expires_in_days) if expires_in_days else None,
    )
    if as_json:
        print_json(new)
        return
    if not quiet:
        console.print(
            f"token for [bold]{escape(new.info.principal)}[/bold] (id {new.info.id}); "
            "it is shown only once:"
        )
    typer.echo(new.token)


def _ensure_role(principal: str, *, team: str | None, role: str) -> None:
    security = platform().security
    try:
        security.create_principal(principal, kind="service", team=team, role=role)
    except AlreadyExists:
        security.grant(principal, team=team or platform().settings.security.default_team, role=role)


@tokens.command("list")
def list_tokens(
    principal: str = typer.Option(None, help="Only this principal's tokens."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """List API tokens (yours, or a principal's)."""
    list_command(
        lambda **kw: platform().security.list_tokens(principal=principal, **kw),
        ["id", "name", "principal", "prefix", "active", "expires_at", "revoked_at"],
        limit,
        every,
        as_json,
        rows=lambda t: {**t.model_dump(), "active": t.active},
    )


@tokens.command("revoke")
def revoke_token(token_id: str = typer.Argument(..., help="Token id (or its prefix).")) -> None:
    """Revoke a token at once; requests with it fail from then on."""
    info = platform().security.revoke_token(token_id)
    console.print(f"revoked token {info.id} of {info.principal}")


@principals.command("create")
def create_principal(
    name: str,
    kind: str = typer.Option("user", help="user or service"),
    team: str = typer.Option(None, help="Team to join (default team if omitted)."),
    role: str = typer.Option("viewer", help="viewer, predictor, editor, approver or admin"),
    as_json: bool = JsonOption,
) -> None:
    """Create a user or service account with a role on a team."""
    p = platform().security.create_principal(name, kind=kind, team=team, role=role)
    if as_json:
        print_json(p)
        return
    console.print(
        f"created {p.kind} {p.name}: " + ", ".join(f"{r.value} on {t}" for t, r in p.roles.items())
    )


@principals.command("grant")
def grant(name: str, team: str = typer.Option(...), role: str = typer.Option(...)) -> None:
    """Give a principal a role on a team (replaces its role there)."""
    p = platform().security.grant(name, team=team, role=role)
    console.print(f"{p.name}: " + ", ".join(f"{r.value} on {t}" for t, r in p.roles.items()))


@principals.command("list")
def list_principals(
    limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """List principals and their roles per team."""
    list_command(
        platform().security.list_principals,
        ["name", "kind", "roles"],
        limit,
        every,
        as_json,
        rows=lambda p: {**p.model_dump(), "roles": [f"{r.value}@{t}" for t, r in p.roles.items()]},
    )


@principals.command("revoke-role")
def revoke_role(
    name: str, team: str = typer.Option(..., help="Team to remove the role on.")
) -> None:
    """Remove a principal's role on a team."""
    p = platform().security.revoke_role(name, team=team)
    roles = ", ".join(f"{r.value} on {t}" for t, r in p.roles.items()) or "no roles"
    console.print(f"{p.name}: {roles}")


@principals.command("show")
def show_principal(name: str, as_json: bool = JsonOption) -> None:
    """One principal: its kind and roles."""
    p = platform().security.get_principal(name)
    if as_json:
        print_json(p)
        return
    console.print(f"[bold]{p.name}[/bold] ({p.kind})")
    print_table(
        [{"team": t, "role": r.value} for t, r in p.roles.items()], ["team", "role"], title="roles"
    )
