"""`shipyard catalog ...`"""

from __future__ import annotations

import typer
from rich.markup import escape

from shipyard._internal.paging import all_items
from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command

app = typer.Typer(help="Search assets, show them, walk their lineage.", no_args_is_help=True)


@app.command("search")
def search(
    text: str = typer.Argument(None, help="Text in the name or description."),
    kind: str = typer.Option(None, help="Only this kind (table, feature_view, model, ...)."),
    tag: str = typer.Option(None, help="Only assets with this tag."),
    owner: str = typer.Option(None, help="Only assets owned by this team."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """Find assets by text, kind, tag or owner."""
    list_command(
        lambda **kw: platform().catalog.search(text, kind=kind, tag=tag, owner=owner, **kw),
        ["ref", "version", "owner", "tags", "description"],
        limit,
        every,
        as_json,
        rows=lambda a: {**a.model_dump(), "ref": f"{a.kind}:{a.name}"},
        whole_page=True,
    )


@app.command("show")
def show(ref: str = typer.Argument(..., help="kind:name"), as_json: bool = JsonOption) -> None:
    """One asset: its details and version history."""
    p = platform()
    asset = p.catalog.get_asset(ref)
    versions = list(all_items(lambda token: p.catalog.list_versions(ref, page_token=token)))
    if as_json:
        print_json({"asset": asset, "versions": versions})
        return
    console.print(f"[bold]{escape(f'{asset.kind}:{asset.name}')}[/bold]  version {asset.version}")
    console.print(
        f"owner: {asset.owner}   created by {asset.created_by} at {asset.created_at:%Y-%m-%d %H:%M:%S}",
        markup=False,
    )
    if asset.description:  # user text: printed as written, brackets included
        console.print(asset.description, markup=False, highlight=False)
    if asset.tags:
        console.print("tags: " + ", ".join(asset.tags), markup=False)
    if asset.properties:
        print_json(asset.properties)
    print_table(
        [v.model_dump() for v in versions],
        ["version", "created_by", "created_at"],
        title="versions",
    )


@app.command("lineage")
def lineage(
    ref: str = typer.Argument(
        ..., help="kind:name (e.g. model:churn), or a column as <layer>.<table>.<column>"
    ),
    downstream: bool = typer.Option(False, "--downstream", help="Follow edges downstream."),
    depth: int = typer.Option(10, help="How many hops."),
    as_json: bool = JsonOption,
) -> None:
    """Where an asset comes from (or what it feeds); for a column, which columns feed it."""
    if ":" not in ref and ref.count(".") == 2 and not downstream:
        from shipyard.cli.lake import lineage as column_lineage

        column_lineage(column=ref, depth=depth, as_json=as_json)
        return
    graph = platform().catalog.lineage(
        ref, direction="downstream" if downstream else "upstream", depth=depth
    )
    if as_json:
        print_json(graph)
        return
    from rich.tree import Tree

    children: dict[str, list[tuple[str, str]]] = {}
    for e in graph.edges:
        parent, child = (
            (str(e.target), str(e.source)) if not downstream else (str(e.source), str(e.target))
        )
        children.setdefault(parent, []).append((child, e.operation))
    tree = Tree(f"[bold]{graph.root}[/bold]")

    def grow(node: Tree, key: str, seen: frozenset[str]) -> None:
        for child, op in children.get(key, []):
            branch = node.add(f"{child}  [dim]({op})[/dim]")
            if child not in seen:
                grow(branch, child, seen | {child})

    grow(tree, str(graph.root), frozenset({str(graph.root)}))
    console.print(tree)
