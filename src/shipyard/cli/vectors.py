"""`shipyard vectors plan|apply|build|query|list|show`: thin over ``VectorService``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer
import yaml

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.errors import InvalidArgument

vectors = typer.Typer(help="Vector indexes: declare, build, query.", no_args_is_help=True)

SpecFile = typer.Argument(..., help="A YAML or JSON file: one index spec or a list of them.")
_SYMBOL = {"create": "[green]+[/green]", "update": "[yellow]~[/yellow]", "unchanged": " "}


def _specs(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InvalidArgument(f"no file {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{path} is not YAML or JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict):
        data = data.get("vector_indexes", [data])
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InvalidArgument(f"{path}: expected an index spec or a list of them")
    return data


def _print_plan(plan: list[dict[str, Any]], applied: bool) -> None:
    for c in plan:
        console.print(
            f"{_SYMBOL[c['action']]} vector index [bold]{c['name']}[/bold] on {c['table']}"
        )
    pending = sum(c["action"] != "unchanged" for c in plan)
    verb = "applied" if applied else "to apply"
    console.print(f"{pending} change(s) {verb}, {len(plan) - pending} unchanged")


@vectors.command("plan")
def plan(file: Path = SpecFile, as_json: bool = JsonOption) -> None:
    """Show what `shipyard vectors apply` would create or change (refuses bad specs)."""
    result = platform().vectors.plan(_specs(file))
    print_json(result) if as_json else _print_plan(result, applied=False)


@vectors.command("apply")
def apply(file: Path = SpecFile, as_json: bool = JsonOption) -> None:
    """Create or update index definitions (a changed one is rebuilt by the next build)."""
    result = platform().vectors.apply(_specs(file))
    print_json(result) if as_json else _print_plan(result, applied=True)


@vectors.command("build")
def build(
    name: str = typer.Argument(..., help="The index."),
    full: bool = typer.Option(False, "--full", help="Rebuild from the whole table."),
    as_json: bool = JsonOption,
) -> None:
    """Bring an index up to its table's latest version (incremental unless --full)."""
    state = platform().vectors.build(name, full=full)
    if as_json:
        print_json(state)
        return
    console.print(f"{name}: {state.mode} at table version {state.table_version}, {state.rows} rows")


@vectors.command("list")
def list_indexes(as_json: bool = JsonOption) -> None:
    """Indexes you may read."""
    items = platform().vectors.list()
    if as_json:
        print_json(items)
        return
    rows = [
        {
            "name": i.name,
            "table": i.spec.source,
            "owner": i.owner,
            "metric": i.spec.metric,
            "type": i.spec.index_type,
            "rows": i.state.rows,
            "version": i.state.table_version,
        }
        for i in items
    ]
    print_table(rows, ["name", "table", "owner", "metric", "type", "rows", "version"])


@vectors.command("show")
def show(name: str = typer.Argument(..., help="The index.")) -> None:
    """An index's definition and last build, as JSON."""
    print_json(platform().vectors.get(name))


def _parse_json(text: str, option: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{option} is not JSON: {exc.msg}") from None


@vectors.command("query")
def query(
    name: str = typer.Argument(..., help="The index."),
    vector: str = typer.Option(None, "--vector", help="The query vector as a JSON list."),
    row: str = typer.Option(None, "--id", help="Neighbours of this row id (itself left out)."),
    k: int = typer.Option(10, "-k", "--k", help="How many neighbours (1..10000)."),
    where: str = typer.Option(None, "--filter", help='JSON filter, e.g. \'{"lang": ["en"]}\'.'),
    text: str = typer.Option(
        None, "--text", help="Keywords: rank by vector and BM25 on the index's text_column."
    ),
    as_json: bool = JsonOption,
) -> None:
    """The k nearest rows to --vector or to row --id, optionally filtered or hybrid (--text)."""
    vec = None if vector is None else _parse_json(vector, "--vector")
    flt = None if where is None else _parse_json(where, "--filter")
    row_id: Any = None
    if row is not None:
        row_id = int(row) if row.lstrip("-").isdigit() else row
    result = platform().vectors.query(name, vec, id=row_id, k=k, filter=flt, text=text)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    print_table(
        [
            {"rank": n + 1, "id": h.id, "distance": f"{h.distance:.6g}"}
            for n, h in enumerate(result.hits)
        ],
        ["rank", "id", "distance"],
        title=f"{name}: {len(result.hits)} of {result.matched} matching ({result.method})",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(vectors, name="vectors")
