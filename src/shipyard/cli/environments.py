"""`shipyard env list|show|promote|plan|promote-definitions|requests|approve|reject`

The environment acted in is the global ``--env`` (or ``SHIPYARD_ENVIRONMENT``):
``shipyard --env dev env promote churn 3 --to prod`` asks from dev;
``shipyard --env prod env approve <id>`` decides in prod (ADR 0028).
"""

from __future__ import annotations

import typer

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command

app = typer.Typer(
    help="Environments (dev, staging, prod) and promotion from one into the next.",
    no_args_is_help=True,
)

_COLUMNS = ["name", "current", "protected", "next", "catalog", "lake_root"]
_REQUEST = ["id", "kind", "source", "subject", "status", "requested_by", "decided_by"]


def _to(to: str | None) -> str:
    """The target: ``--to``, else the environment after the current one."""
    if to:
        return to
    env = platform().settings.environment
    nxt = platform().environments.get_environment(env).next if env else None
    if nxt is None:
        raise typer.BadParameter("give --to (the current environment has no next one)")
    return nxt


@app.command("list")
def list_envs(as_json: bool = JsonOption) -> None:
    """Every environment in promotion order, and where each keeps its state."""
    envs = platform().environments.list_environments()
    if as_json:
        print_json(envs)
        return
    print_table([e.model_dump() for e in envs], _COLUMNS)


@app.command("show")
def show(name: str = typer.Argument(None), as_json: bool = JsonOption) -> None:
    """One environment (default: the current one)."""
    p = platform()
    env = p.environments.get_environment(name or p.settings.environment or "")
    if as_json:
        print_json(env)
        return
    for key, value in env.model_dump().items():
        console.print(f"{key}: {value}", markup=False)


@app.command("promote")
def promote(
    name: str,
    version: int,
    to: str = typer.Option(None, "--to", help="Target environment (default: the next one)."),
    comment: str = typer.Option(None, help="Why (shown to the approver)."),
    as_json: bool = JsonOption,
) -> None:
    """Copy a model version into the next environment (a request, if it is protected)."""
    request = platform().environments.promote_model(name, version, target=_to(to), comment=comment)
    _said(request, as_json)


@app.command("plan")
def plan(
    to: str = typer.Option(None, "--to", help="Target environment (default: the next one)."),
    as_json: bool = JsonOption,
) -> None:
    """What promoting this environment's definitions would change; prints the digest to apply."""
    result = platform().environments.plan_definitions(_to(to))
    if as_json:
        print_json(result)
        return
    rows = [
        {"kind": c["kind"], "name": c["name"], "action": c["action"]}
        for c in result.resources
        if c["action"] != "unchanged"
    ]
    print_table(rows, ["kind", "name", "action"], title=f"{result.source} -> {result.target}")
    for line in result.refused:
        console.print(f"refused: {line}", markup=False)
    if not result.changes:
        console.print(f"nothing to promote into {result.target}", markup=False)
        return
    console.print(
        f"{result.changes} changes; apply with: shipyard env promote-definitions "
        f"--to {result.target} --digest {result.digest}",
        markup=False,
    )


@app.command("promote-definitions")
def promote_definitions(
    digest: str = typer.Option(..., "--digest", help="The digest `shipyard env plan` printed."),
    to: str = typer.Option(None, "--to", help="Target environment (default: the next one)."),
    comment: str = typer.Option(None, help="Why (shown to the approver)."),
    as_json: bool = JsonOption,
) -> None:
    """Apply the reviewed plan in the target (a request, if it is protected)."""
    request = platform().environments.promote_definitions(_to(to), digest=digest, comment=comment)
    _said(request, as_json)


@app.command("requests")
def requests(
    status: str = typer.Option(None, help="pending, approved, rejected or applied."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Promotions into the current environment."""
    list_command(
        lambda **kw: platform().environments.list_promotions(status=status, **kw),
        _REQUEST,
        limit,
        every,
        as_json,
    )


@app.command("approve")
def approve(request_id: str, comment: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Approve and carry out a pending promotion into the current environment."""
    _said(platform().environments.approve_promotion(request_id, comment=comment), as_json)


@app.command("reject")
def reject(request_id: str, comment: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Reject a pending promotion into the current environment."""
    _said(platform().environments.reject_promotion(request_id, comment=comment), as_json)


def _said(request: object, as_json: bool) -> None:
    if as_json:
        print_json(request)
        return
    r = request  # an EnvPromotion
    where = f"{r.source} -> {r.target}"  # type: ignore[attr-defined]
    line = f"{r.kind} {r.subject} {where}: {r.status} (request {r.id})"  # type: ignore[attr-defined]
    if r.result:  # type: ignore[attr-defined]
        line += f"; {r.result}"  # type: ignore[attr-defined]
    console.print(line, markup=False)
