"""`shipyard plan|apply`: platform as code over every resource kind (ADRs 0027, 0043).

The same two commands are also under `shipyard platform plan|apply` (their first name).
Feature definitions alone, pruning by default as the top-level commands used to, are
`shipyard features plan|apply` (`cli/features.py`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json

app = typer.Typer(
    help="Platform as code (also `shipyard plan|apply`): teams, roles, quotas, tables, "
    "features, pipelines, monitors and deployments from the project's files.",
    no_args_is_help=True,
)

FilesArg = typer.Argument(
    None,
    help="Files (default: platform.yaml, platform/*.yaml, features.py, features/, "
    "pipelines.py, pipelines/).",
)
PruneOption = typer.Option(
    False,
    "--prune/--no-prune",
    help="Also remove what the files no longer declare (off by default).",
)
FORCE_HINT = "(apply them on purpose: shipyard features apply --force --no-prune)"
_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "delete": "[red]-[/red]"}


def _show(plan: object, *, applied: bool) -> None:
    from shipyard.platform_code import Plan

    assert isinstance(plan, Plan)
    for c in plan.pending:
        where = f"  ({c.source})" if c.source else ""
        console.print(f"{_SYMBOL[c.action]} {c.kind} [bold]{c.name}[/bold]{where}")
        for d in c.diff:
            console.print(f"    {d}", markup=False)
    unchanged = len(plan.changes) - len(plan.pending)
    verb = "applied" if applied else "to apply"
    console.print(f"{len(plan.pending)} change(s) {verb}, {unchanged} unchanged")


def plan(
    files: list[Path] = FilesArg,
    prune: bool = PruneOption,
    out: Path = typer.Option(None, "--out", "-o", help="Save the plan (JSON) for `apply`."),
    as_json: bool = JsonOption,
) -> None:
    """Show what `shipyard apply` would change in every resource kind; save it with --out."""
    from shipyard import platform_code

    result = platform_code.plan(platform(), files or None, prune=prune)
    if out is not None:
        out.write_text(result.model_dump_json(indent=2))
    if as_json:
        print_json(result)
    else:
        _show(result, applied=False)
        if out is not None:
            console.print(f"plan saved to {out}; apply it with: shipyard apply --plan {out}")


def apply(
    files: list[Path] = FilesArg,
    saved: Path = typer.Option(
        None, "--plan", help="A plan saved by `plan --out` (refused if the platform changed)."
    ),
    prune: bool = typer.Option(
        None,
        "--prune/--no-prune",
        help="Also remove what the files no longer declare (off by default; "
        "a saved plan keeps the setting it was made with).",
        show_default=False,
    ),
    as_json: bool = JsonOption,
) -> None:
    """Carry out a saved plan, or plan the files and apply at once."""
    from shipyard import platform_code
    from shipyard.errors import Conflict, InvalidArgument

    p = platform()
    if saved is not None:
        if files:
            raise InvalidArgument("give either --plan or files, not both")
        try:
            chosen = platform_code.Plan.model_validate_json(saved.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"{saved}: not a saved plan ({type(exc).__name__})") from None
    else:
        chosen = platform_code.plan(p, files or None, prune=bool(prune))
    try:
        result = platform_code.apply(p, chosen, prune=prune if saved is not None else None)
    except Conflict as exc:
        if "breaking" not in exc.details:
            raise
        # The feature planner's refusal speaks to SDK callers; say what to type instead.
        message = exc.message.replace("(use force=True)", FORCE_HINT)
        raise Conflict(message, **exc.details) from None
    if as_json:
        print_json(result)
    else:
        _show(result, applied=True)


app.command("plan")(plan)
app.command("apply")(apply)


def register(root: typer.Typer) -> None:
    """`shipyard plan` and `shipyard apply` at the top level."""
    root.command("plan")(plan)
    root.command("apply")(apply)
