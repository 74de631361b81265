"""`shipyard monitor slo set|list|delete|evaluate` and `shipyard monitor incidents`: thin over
``MonitoringService`` (docs/monitoring.md#slos-and-incidents)."""

from __future__ import annotations

import typer

from shipyard.cli._common import JsonOption, platform, print_json, print_table
from shipyard.monitoring.slo import SLOStatus

slo = typer.Typer(help="Service-level objectives of deployments.", no_args_is_help=True)


@slo.command("set")
def set_slo(
    deployment: str,
    name: str,
    kind: str = typer.Option(..., "--kind", help="latency or availability."),
    objective: float = typer.Option(..., "--objective", help="Good fraction, e.g. 0.99."),
    threshold_ms: float = typer.Option(None, "--threshold-ms", help="latency: good if <= this."),
    period: float = typer.Option(28 * 86400.0, "--period", help="Seconds of the SLO window."),
    min_requests: int = typer.Option(20, "--min-requests", help="Fewer never fire."),
    as_json: bool = JsonOption,
) -> None:
    """Create or replace a deployment's SLO."""
    made = platform().monitoring.put_slo(
        deployment,
        name,
        kind=kind,  # type: ignore[arg-type]  # the service refuses an unknown kind
        objective=objective,
        threshold_ms=threshold_ms,
        period_seconds=period,
        min_requests=min_requests,
    )
    print_json(made) if as_json else typer.echo(f"{deployment}/{made.name}: {made.kind} set")


@slo.command("list")
def list_slos(deployment: str, as_json: bool = JsonOption) -> None:
    """The deployment's SLOs."""
    found = platform().monitoring.list_slos(deployment)
    if as_json:
        print_json(found)
        return
    cols = ["name", "kind", "objective", "threshold_ms", "period_seconds", "min_requests"]
    print_table([s.model_dump() for s in found], cols)


@slo.command("delete")
def delete_slo(deployment: str, name: str) -> None:
    """Delete a deployment's SLO (its incidents stay)."""
    platform().monitoring.delete_slo(deployment, name)
    typer.echo(f"{deployment}/{name}: deleted")


@slo.command("evaluate")
def evaluate(
    deployment: str,
    fail_on_burn: bool = typer.Option(False, "--fail-on-burn", help="Exit 3 when burning."),
    as_json: bool = JsonOption,
) -> None:
    """Evaluate every SLO of the deployment now: opens or resolves its incidents."""
    statuses = platform().monitoring.evaluate_slos(deployment)
    if as_json:
        print_json(statuses)
    else:
        print_table([_row(s) for s in statuses], ["slo", "status", "sli", "budget", "firing"])
    if fail_on_burn and any(s.status == "burning" for s in statuses):
        raise typer.Exit(3)


def _row(s: SLOStatus) -> dict[str, object]:
    return {
        "slo": s.slo.name,
        "status": s.status,
        "sli": None if s.sli is None else round(s.sli, 5),
        "budget": None if s.budget_remaining is None else round(s.budget_remaining, 3),
        "firing": ", ".join(s.firing),
    }


def incidents(
    deployment: str,
    limit: int = typer.Option(20, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    """The deployment's incidents, newest first."""
    found = platform().monitoring.list_incidents(deployment, limit=limit)
    if as_json:
        print_json(found)
        return
    cols = ["id", "source", "state", "opened_at", "resolved_at", "summary"]
    print_table([i.model_dump(exclude={"details"}) for i in found], cols)
