"""`shipyard deploy ...` and `shipyard deployments ...`: thin over ``ServingService``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from shipyard.cli._common import (
    JsonOption,
    QuietOption,
    SubmitOption,
    console,
    platform,
    print_json,
    print_submitted,
    print_table,
    progress,
)
from shipyard.cli._paging import AllOption, LimitOption, list_command
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.serving.models import Deployment

deployments = typer.Typer(help="Deployments: list, show, predict, roll back.", no_args_is_help=True)


def _variant(text: str, *, shadow: bool = False) -> Any:
    from shipyard.serving import Variant

    name, sep, rest = text.partition("=")
    if not sep:
        raise InvalidArgument(f"variant '{text}' must look like NAME=MODEL[:WEIGHT]")
    model, _, weight = rest.partition(":")
    try:
        w = 0 if shadow else int(weight or 100)
    except ValueError:
        raise InvalidArgument(f"weight in '{text}' must be an integer") from None
    return Variant(name=name, model=model, weight=w, shadow=shadow)


def _fields(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, kind = item.partition(":")
        if not sep:
            raise InvalidArgument(f"request field '{item}' must look like NAME:TYPE")
        out[name] = kind
    return out


def _neighbor_step(text: str) -> Any:
    """``--neighbors`` JSON as a ``NeighborFeatures`` (``InvalidArgument`` in one line)."""
    import json

    from pydantic import ValidationError

    from shipyard.serving import NeighborFeatures

    try:
        return NeighborFeatures.model_validate(json.loads(text))
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc)}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidArgument(f"--neighbors {where}: {first['msg']}".replace(" :", ":")) from None


def deploy(
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(
        None, "--model", "-m", help="One variant: churn@champion or churn/3."
    ),
    variant: list[str] = typer.Option([], "--variant", help="NAME=MODEL[:WEIGHT], repeatable."),
    shadow: list[str] = typer.Option([], "--shadow", help="NAME=MODEL: gets a copy of traffic."),
    feature_service: str = typer.Option(None, "--feature-service", "-f"),
    entity_key: list[str] = typer.Option([], "--entity-key", "-k", help="Repeatable."),
    request_field: list[str] = typer.Option([], "--request-field", help="NAME:TYPE, repeatable."),
    require_features: bool = typer.Option(False, "--require-features"),
    neighbors: list[str] = typer.Option(
        [],
        "--neighbors",
        help='A neighbour feature step as JSON, repeatable: \'{"index": "customers", '
        '"key": "customer_id", "k": 20, "column": "churned", "outputs": {"sim_churn": "mean"}}\'.',
    ),
    owner: str = typer.Option(None, help="Owning team (new deployments)."),
    as_json: bool = JsonOption,
) -> None:
    """Create deployment NAME, or record a new version of it."""
    variants = [_variant(v) for v in variant] + [_variant(s, shadow=True) for s in shadow]
    if model:
        from shipyard.serving import Variant

        variants.insert(0, Variant(name="main", model=model, weight=100))
    extra: dict[str, Any] = {} if feature_service is None else {"feature_service": feature_service}
    if neighbors:
        extra["neighbors"] = [_neighbor_step(n) for n in neighbors]
    dep = platform().serving.apply_deployment(
        name,
        variants=variants or None,
        entity_keys=entity_key or None,
        request_fields=_fields(request_field) or None,
        require_features=require_features or None,
        owner=owner,
        **extra,
    )
    if as_json:
        print_json(dep)
    else:
        console.print(
            f"deployed [bold]{dep.ref}[/bold]: "
            + ", ".join(
                f"{v.name}={v.model}" + (" (shadow)" if v.shadow else f" {v.weight}%")
                for v in dep.variants
            )
        )


@deployments.command("list")
def list_(limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption) -> None:
    """Deployments you may read."""
    list_command(
        platform().serving.list_deployments,
        ["name", "version", "owner", "variants", "feature_service"],
        limit,
        every,
        as_json,
        rows=lambda d: {**_row(d), "feature_service": d.spec.feature_service},
    )


def _row(d: Deployment) -> dict[str, Any]:
    return {**d.model_dump(), "variants": [f"{v.name}={v.model}:{v.weight}" for v in d.variants]}


@deployments.command("show")
def show(name: str, as_json: bool = JsonOption) -> None:
    """One deployment's current version."""
    print_json(platform().serving.get_deployment(name))  # a table says less: JSON either way


@deployments.command("versions")
def versions(
    name: str, limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """Every version of a deployment."""
    list_command(
        lambda **kw: platform().serving.list_deployment_versions(name, **kw),
        ["version", "created_by", "updated_at", "variants"],
        limit,
        every,
        as_json,
        rows=_row,
    )


@deployments.command("rollback")
def rollback(
    name: str, to: int = typer.Option(None, "--to", help="Version (default: the previous).")
) -> None:
    """Serve an earlier version again (recorded as a new version)."""
    dep = platform().serving.rollback_deployment(name, to_version=to)
    console.print(f"rolled back: now {dep.ref}")


@deployments.command("predict")
def predict(
    name: str,
    inputs: str = typer.Argument(..., help="JSON row or list of rows: '{\"customer_id\": 7}'"),
    routing_key: str = typer.Option(None, "--routing-key"),
) -> None:
    """Score rows with a deployment (prints the response as JSON)."""
    try:
        rows = json.loads(inputs)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"inputs are not valid JSON: {exc}") from None
    rows = rows if isinstance(rows, list) else [rows]
    print_json(platform().serving.predict(name, rows, routing_key=routing_key).to_dict())


@deployments.command("stats")
def stats(
    name: str,
    window: float = typer.Option(3600.0, "--window", help="Seconds of inference log to cover."),
) -> None:
    """Requests, errors and latency percentiles per variant, from the inference log
    (every server process; written every serving.log_flush_seconds)."""
    print_json(platform().serving.deployment_stats(name, window_seconds=window))


@deployments.command("report")
def report(name: str, as_json: bool = JsonOption) -> None:
    """A/B evidence per variant: traffic, latency, errors, outcome with 95% CI and p-value."""
    svc = platform().serving
    svc.flush_prediction_log()
    rep = svc.get_report(name)
    if as_json:
        print_json(rep)
        return
    rows = [
        {
            "variant": v.variant + (" (shadow)" if v.shadow else ""),
            "requests": v.requests,
            "error_rate": f"{v.error_rate:.2%}",
            "p50/p99 ms": _pair(v.p50_ms, v.p99_ms),
            "labeled": v.labeled,
            "outcome [95% CI]": _metric(v.outcome_mean, v.outcome_ci95),
            "brier [95% CI]": _metric(v.brier, v.brier_ci95),
            "p (outcome)": "" if v.p_value_outcome is None else f"{v.p_value_outcome:.3g}",
            "p (brier)": "" if v.p_value_brier is None else f"{v.p_value_brier:.3g}",
        }
        for v in rep.variants
    ]
    print_table(
        rows,
        list(rows[0]) if rows else ["variant"],
        title=f"deployment:{rep.deployment}@{rep.version} (control: {rep.control})",
    )


def _pair(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None else f"{a:.2f} / {b:.2f}"


def _metric(mean: float | None, ci: tuple[float, float] | None) -> str:
    if mean is None:
        return ""
    return f"{mean:.4f}" + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "")


@deployments.command("ground-truth")
def ground_truth(
    name: str,
    outcomes: str = typer.Argument(
        ..., help='JSON list: [{"request_id": "...", "outcome": 1}] or [{"entity": {...}, ...}]'
    ),
) -> None:
    """Post observed outcomes for earlier predictions."""
    try:
        rows = json.loads(outcomes)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"outcomes are not valid JSON: {exc}") from None
    n = platform().serving.log_ground_truth(name, rows if isinstance(rows, list) else [rows])
    console.print(f"recorded {n} outcomes for {name}")


canary_app = typer.Typer(help="Canary ramps: start, advance, roll back.", no_args_is_help=True)
deployments.add_typer(canary_app, name="canary")


@canary_app.command("start")
def canary_start(
    name: str,
    variant: str = typer.Argument(..., help="NAME=MODEL, e.g. c=churn/4"),
    steps: str = typer.Option("5,25,100", help="Comma-separated weights."),
    interval: float = typer.Option(None, help="Seconds between automatic steps."),
    max_error_rate: float = typer.Option(0.05),
    max_p99_ms: float = typer.Option(None),
) -> None:
    """Ramp a new variant in."""
    try:
        weights = [int(s) for s in steps.split(",")]
    except ValueError:
        raise InvalidArgument(f"steps must be integers: {steps}") from None
    dep = platform().serving.start_canary(
        name,
        _variant(variant),
        steps=weights,
        interval_s=interval,
        max_error_rate=max_error_rate,
        max_p99_ms=max_p99_ms,
    )
    console.print(f"canary started: {dep.ref} " + _weights(dep))


@canary_app.command("advance")
def canary_advance(name: str) -> None:
    """Move the ramp to its next step."""
    dep = platform().serving.advance_canary(name)
    console.print(f"canary advanced: {dep.ref} " + _weights(dep))


@canary_app.command("rollback")
def canary_rollback(name: str, reason: str = typer.Option("by command")) -> None:
    """Stop the ramp and restore the weights before it."""
    dep = platform().serving.rollback_canary(name, reason=reason)
    console.print(f"canary rolled back: {dep.ref} " + _weights(dep))


def _weights(dep: Any) -> str:
    return ", ".join(f"{v.name} {v.weight}%" for v in dep.variants if not v.shadow)


@deployments.command("score-table")
def score_table(
    model: str = typer.Argument(..., help="churn@champion or churn/3"),
    source: str = typer.Argument(..., help="Input lake table, e.g. datasets.churn_train"),
    output: str = typer.Argument(..., help="Output table, e.g. datasets.churn_scores"),
    version: int = typer.Option(None, help="Score the input as of this version."),
    chunk_rows: int = typer.Option(250_000, help="Rows per chunk (bounds memory)."),
    submit: bool = SubmitOption,
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Batch-score a lake table with a model version (idempotent: reruns write nothing)."""
    serving = platform().serving
    if submit:
        job = serving.score_table(
            model, source, output, version=version, chunk_rows=chunk_rows, submit=True
        )
        print_submitted(job, as_json)
        return
    with progress(f"score {source}", "rows", quiet=quiet) as on_progress:
        r = serving.score_table(
            model, source, output, version=version, chunk_rows=chunk_rows, on_progress=on_progress
        )
    if as_json:
        print_json(r)
        return
    console.print(
        f"scored {r.rows} rows of {r.source}@{r.source_version} with {r.model_version} into "
        f"{r.output}@{r.output_version} ({r.chunks_written} chunks written, "
        f"{r.chunks_skipped} already there) in {r.seconds:.1f}s"
    )


@deployments.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8766, help="Port."),
    workers: int = typer.Option(1, help="Worker processes."),
    auth_cache: float | None = typer.Option(
        None,
        help="Longest reuse (s) of a verified token's principal; a revocation ends it at once "
        "(default: setting security.auth_cache; 0: read the token every request).",
    ),
) -> None:
    """Run the dedicated inference server (predict and V2 routes only)."""
    from shipyard._internal.net import ensure_port_free
    from shipyard.cli import _common
    from shipyard.serving.server import run_serving_server

    ensure_port_free(host, port)
    run_serving_server(
        _common.project_dir(), host=host, port=port, workers=workers, auth_cache_seconds=auth_cache
    )


@deployments.command("delete")
def delete(name: str, yes: bool = typer.Option(False, "--yes", "-y")) -> None:
    """Delete a deployment."""
    if not yes:
        typer.confirm(f"delete deployment {name}?", abort=True)
    platform().serving.delete_deployment(name)
    console.print(f"deleted deployment {name}")


FormatOption: Any = typer.Option("onnx", "--format", help="Export format (onnx).")
OutputOption: Any = typer.Option(None, "--output", "-o", help="Where to write the file.")
ToleranceOption: Any = typer.Option(1e-4, help="Largest allowed output difference.")


def _print_export(r: Any, as_json: bool) -> None:
    if as_json:
        print_json(r)
        return
    console.print(
        f"exported {r.model_version} to {r.path} ({r.size_bytes} bytes, {r.converter}); "
        f"max |diff| {r.max_abs_diff:.2e} on {r.rows_checked} rows; recorded as {r.asset}"
    )


ExportSubmitOption: Any = typer.Option(
    False,
    "--submit",
    help="Queue it as a job, print the job id and return: the file goes to the platform "
    "home's exports/ (no --output), checked on the model's input example.",
)


def export(
    model: str = typer.Argument(..., help="churn@champion or churn/3"),
    format: str = FormatOption,
    output: Path = OutputOption,
    tolerance: float = ToleranceOption,
    submit: bool = ExportSubmitOption,
    as_json: bool = JsonOption,
) -> None:
    """Export a model version for the edge (ONNX), checked for parity on held-out rows."""
    serving = platform().serving
    if submit:
        _no_output(output)
        job = serving.export_model(model, format=format, tolerance=tolerance, submit=True)
        print_submitted(job, as_json)
        return
    r = serving.export_model(
        model, format=format, tolerance=tolerance, output=str(output) if output else None
    )
    _print_export(r, as_json)


@deployments.command("export")
def export_deployment(
    name: str = typer.Argument(..., help="The deployment whose model to export."),
    format: str = FormatOption,
    output: Path = OutputOption,
    tolerance: float = ToleranceOption,
    submit: bool = ExportSubmitOption,
    as_json: bool = JsonOption,
) -> None:
    """Export the model a deployment serves (its main variant) for the edge (ONNX)."""
    serving = platform().serving
    if submit:
        _no_output(output)
        job = serving.export_deployment(name, format=format, tolerance=tolerance, submit=True)
        print_submitted(job, as_json)
        return
    r = serving.export_deployment(
        name, format=format, tolerance=tolerance, output=str(output) if output else None
    )
    _print_export(r, as_json)


def _no_output(output: Path | None) -> None:
    if output is not None:
        raise InvalidArgument("--submit takes no --output: a job writes to the exports/ folder")


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app.

    ``export`` joins the registry's ``models`` group if it has one, else a group of its own.
    """
    app.command("deploy")(deploy)
    app.add_typer(deployments, name="deployments")
    for info in app.registered_groups:
        if info.name == "models" and info.typer_instance is not None:
            info.typer_instance.command("export")(export)
            return
    models = typer.Typer(help="Models: export for the edge.", no_args_is_help=True)
    models.command("export")(export)
    app.add_typer(models, name="models")
