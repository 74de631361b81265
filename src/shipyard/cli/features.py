"""CLI of the feature store: ``shipyard materialize`` and ``shipyard features ...``.

``shipyard features plan|apply`` plan feature definitions alone and prune by default (what
the top-level ``shipyard plan|apply`` did before they covered every kind; ADR 0043).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

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
from shipyard.cli._paging import AllOption, LimitOption, fetch, say_if_more

features_app = typer.Typer(
    help="Feature store: definitions, freshness, online lookups.", no_args_is_help=True
)

PathsArg = typer.Argument(
    None, help="Definition files or folders (default: features.py, features/)."
)
_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "delete": "[red]-[/red]"}


def _definitions(paths: list[Path] | None) -> list[Any]:
    from shipyard.errors import InvalidArgument
    from shipyard.features.loader import default_paths, load_definitions

    p = platform()
    chosen = list(paths) if paths else default_paths(p.settings.project_dir)
    if not chosen:
        raise InvalidArgument(
            f"no definition files: put them in {p.settings.project_dir}/features.py or features/"
        )
    return load_definitions(chosen)


def _print_plan(plan: Any, *, applied: bool) -> None:
    pending = plan.pending
    for c in pending:
        console.print(f"{_SYMBOL[c.action]} {c.kind} [bold]{c.name}[/bold]")
        for d in c.diff:
            console.print(f"    {d}")
        for b in c.breaking:
            console.print(f"    [red]breaking:[/red] {b}")
    unchanged = len(plan.changes) - len(pending)
    verb = "applied" if applied else "to apply"
    console.print(f"{len(pending)} change(s) {verb}, {unchanged} unchanged")


@features_app.command("plan")
def plan(
    paths: list[Path] = PathsArg,
    prune: bool = typer.Option(
        True, "--prune/--no-prune", help="Show deletions of undeclared definitions."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Show what `shipyard features apply` would create, change or delete."""
    result = platform().features.plan(_definitions(paths), prune=prune)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_plan(result, applied=False)


@features_app.command("apply")
def apply(
    paths: list[Path] = PathsArg,
    force: bool = typer.Option(False, "--force", help="Apply changes that break readers."),
    prune: bool = typer.Option(True, "--prune/--no-prune", help="Delete undeclared definitions."),
    as_json: bool = JsonOption,
) -> None:
    """Create, update and delete feature definitions (all or nothing; prunes by default)."""
    result = platform().features.apply(_definitions(paths), force=force, prune=prune)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_plan(result, applied=True)


def materialize(
    views: list[str] = typer.Argument(None, help="Views (default: every online view)."),
    start: datetime = typer.Option(
        None, help="Event time to start after (default: the watermark)."
    ),
    end: datetime = typer.Option(None, help="Event time to stop at (inclusive)."),
    submit: bool = SubmitOption,
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Write the latest feature values into the online store."""
    features = platform().features
    if submit:
        print_submitted(
            features.materialize(views or None, start=start, end=end, submit=True), as_json
        )
        return
    with progress("materialize", "entities", quiet=quiet) as on_progress:
        results = features.materialize(views or None, start=start, end=end, on_progress=on_progress)
    rows = [r.to_dict() for r in results]
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["view", "entities", "rows", "watermark", "source_version", "seconds"])


@features_app.command("list")
def list_definitions(
    kind: str = typer.Option(
        None, help="entity, feature_view, on_demand_feature_view or feature_service."
    ),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """List feature definitions."""
    from shipyard.features.wire import definition_to_wire

    features = platform().features
    page = fetch(lambda **kw: features.list_definitions(kind, **kw), limit=limit, every=every)
    say_if_more(page)
    items = [definition_to_wire(d) for d in page.items]
    if as_json:
        print_json(items)
        return
    rows = [
        {
            "kind": d["kind"],
            "name": d["name"],
            "owner": d["owner"],
            "description": d["spec"].get("description", ""),
        }
        for d in items
    ]
    print_table(rows, ["kind", "name", "owner", "description"])


@features_app.command("show")
def show(
    view: str = typer.Argument(..., help="A feature view."), as_json: bool = JsonOption
) -> None:
    """A view's definition, freshness and statistics."""
    from shipyard.features.wire import definition_to_wire

    p = platform()
    data = {
        "definition": definition_to_wire(p.features.get_definition("feature_view", view)),
        "status": p.features.get_view_status(view),
    }
    if as_json:
        print_json(data)
        return
    spec, status = data["definition"]["spec"], data["status"]
    console.print(
        f"[bold]feature_view:{view}[/bold]  source {spec['source']}  ttl {spec['ttl_seconds']}s"
    )
    console.print(
        f"watermark {status['watermark']}  last materialized {status.get('last_materialized_at')}"
        f"  entities {status.get('entities')}  runs {status['runs']}"
    )
    stats = status.get("statistics") or {}
    rows = [
        {"feature": f["name"], "dtype": f["dtype"], **stats.get(f["name"], {})}
        for f in spec["features"]
    ]
    print_table(rows, ["feature", "dtype", "null_fraction", "min", "max", "mean"])


@features_app.command("online")
def online(
    entity: list[str] = typer.Option(
        ..., "--entity", "-e", help="key=value (repeatable: one row each)."
    ),
    service: str = typer.Option(None, "--service", help="A feature service."),
    feature: list[str] = typer.Option(None, "--feature", "-f", help="view:feature (repeatable)."),
) -> None:
    """Look up online features for entity rows."""
    rows = []
    for item in entity:
        pairs = dict(part.split("=", 1) for part in item.split(",") if "=" in part)
        rows.append({k: json.loads(v) if v.lstrip("-").isdigit() else v for k, v in pairs.items()})
    r = platform().features.get_online_features(
        feature or None, feature_service=service, entity_rows=rows
    )
    print_json(r.to_json())


@features_app.command("push")
def push(
    push_source: str = typer.Argument(..., help="The push source name."),
    file: Path = typer.Option(None, "--file", help="JSON lines, one record each ('-': stdin)."),
    row: list[str] = typer.Option(None, "--row", help="One JSON record (repeatable)."),
    to: str = typer.Option("online_and_offline", help="online, offline or online_and_offline."),
) -> None:
    """Push records: online at once, appended to the push source's lake table."""
    import sys

    lines = list(row or [])
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
        lines += [ln for ln in text.splitlines() if ln.strip()]
    try:
        records = [json.loads(ln) for ln in lines]
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not a JSON record: {exc}") from None
    print_json(platform().features.push(push_source, records, to=to).to_dict())


@features_app.command("training-set")
def training_set(
    name: str = typer.Argument(..., help="Saved as datasets.<name>."),
    entities: str = typer.Option(
        ..., "--entities", help="A lake table or SQL with the entity rows."
    ),
    service: str = typer.Option(None, "--service", help="A feature service."),
    feature: list[str] = typer.Option(None, "--feature", "-f", help="view:feature (repeatable)."),
    full_feature_names: bool = typer.Option(False, "--full-feature-names"),
    filter_created: bool = typer.Option(False, "--filter-by-created-timestamp"),
) -> None:
    """Build a point-in-time correct training set from entity rows in the lake."""
    ts = platform().features.create_training_set(
        name,
        entities,
        feature or None,
        service,
        full_feature_names=full_feature_names,
        filter_by_created_timestamp=filter_created,
    )
    print_json(ts.to_dict())


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app."""
    app.command("materialize")(materialize)
    app.add_typer(features_app, name="features")
