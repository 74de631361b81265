"""`shipyard models ...`: registered models, versions, aliases and promotion approvals."""

from __future__ import annotations

import typer

from shipyard._internal.paging import all_items
from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command

models = typer.Typer(help="Model registry: versions, aliases, promotions.", no_args_is_help=True)


@models.command("list")
def list_models(
    limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """Registered models with their latest version and aliases."""
    list_command(
        platform().registry.list_registered_models,
        ["name", "latest_version", "aliases", "owner", "description"],
        limit,
        every,
        as_json,
        whole_page=True,
    )


@models.command("show")
def show(name: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """A model, its versions and aliases."""
    reg = platform().registry
    model = reg.get_registered_model(name)
    versions = list(all_items(lambda token: reg.list_model_versions(name, page_token=token)))
    if as_json:
        print_json({"model": model, "versions": versions})
        return
    console.print(f"[bold]{model.name}[/bold]  owner {model.owner}  {model.description}")
    print_table(
        [v.model_dump() for v in versions],
        ["version", "aliases", "flavor", "run_id", "created_by", "created_at"],
    )


@models.command("register")
def register_version(
    name: str = typer.Argument(...),
    source: str = typer.Argument(..., help="runs:/<run>/<path>, models:/<id> or a folder"),
    description: str = typer.Option(None, help="What this version is."),
) -> None:
    """Register a new version from a run's model (or a saved model folder)."""
    mv = platform().registry.register_model(name, source, description=description)
    console.print(f"registered {mv.ref}" + (f" from run {mv.run_id}" if mv.run_id else ""))


@models.command("alias")
def alias(
    name: str = typer.Argument(...),
    alias_name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    comment: str = typer.Option(None),
) -> None:
    """Point an alias at a version (protected aliases create a promotion request)."""
    req = platform().registry.set_alias(name, alias_name, version, comment=comment)
    if req.pending:
        console.print(
            f"alias '{alias_name}' is protected: promotion request {req.id} awaits "
            f"approval (shipyard models approve {req.id})"
        )
    else:
        console.print(f"{name}@{alias_name} -> version {version}")


@models.command("unalias")
def unalias(name: str = typer.Argument(...), alias_name: str = typer.Argument(...)) -> None:
    """Remove an alias from a model."""
    platform().registry.delete_alias(name, alias_name)
    console.print(f"removed alias {name}@{alias_name}")


@models.command("promotions")
def promotions(
    name: str = typer.Option(None, help="Only this model."),
    status: str = typer.Option(None, help="pending, approved, rejected, applied"),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Promotion requests (``--status pending`` is the approval queue)."""
    list_command(
        lambda **kw: platform().registry.list_promotions(name=name, status=status, **kw),
        ["id", "name", "alias", "version", "status", "requested_by", "decided_by"],
        limit,
        every,
        as_json,
    )


@models.command("approve")
def approve(request_id: str = typer.Argument(...), comment: str = typer.Option(None)) -> None:
    """Approve a promotion (not your own; needs the approve permission)."""
    req = platform().registry.approve_promotion(request_id, comment=comment)
    console.print(f"approved: {req.name}@{req.alias} -> version {req.version}")


@models.command("reject")
def reject(request_id: str = typer.Argument(...), comment: str = typer.Option(None)) -> None:
    """Reject a pending promotion request."""
    req = platform().registry.reject_promotion(request_id, comment=comment)
    console.print(f"rejected: {req.name}@{req.alias} -> version {req.version}")


@models.command("history")
def history(
    name: str = typer.Argument(...),
    alias_name: str = typer.Option(None, "--alias"),
    as_json: bool = JsonOption,
) -> None:
    """Which version held which alias when, who asked and who approved."""
    events = platform().registry.alias_history(name, alias_name)
    if as_json:
        print_json(events)
        return
    print_table(
        [e.model_dump() for e in events],
        ["at", "alias", "action", "version", "previous_version", "principal", "approved_by"],
    )


@models.command("policy")
def policy(
    alias_name: str = typer.Argument(..., metavar="ALIAS"),
    model: str = typer.Option("*", help="Model name ('*' = every model)."),
    protected: bool = typer.Option(True, "--protected/--unprotected"),
    require_signature: bool = typer.Option(False, "--require-signature"),
    metric: str = typer.Option(None, help="Metric the version's run must have..."),
    min_value: float = typer.Option(None, "--min", help="...at least this high."),
) -> None:
    """Set the governance policy of an alias (admin)."""
    p = platform().registry.set_alias_policy(
        alias_name,
        name=model,
        protected=protected,
        require_signature=require_signature,
        metric=metric,
        min_value=min_value,
    )
    print_json(p)


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app."""
    app.add_typer(models, name="models")
