"""CLI commands of the lake capability: `shipyard sql` and `shipyard lake ...`."""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import pyarrow as pa  # the commands that print a table import it as they run

lake_app = typer.Typer(
    help="Lake tables: ingest, refresh, inspect, time travel, maintain.", no_args_is_help=True
)


def _print_arrow(tbl: pa.Table, *, as_json: bool, as_csv: bool, limit: int) -> None:
    if as_csv:
        import csv

        import pyarrow.csv as pacsv

        csv.writer(sys.stdout, lineterminator="\n").writerow(tbl.column_names)
        buf = io.BytesIO()
        pacsv.write_csv(tbl, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        sys.stdout.write(buf.getvalue().decode())
        return
    if as_json:
        print_json(tbl.to_pylist())
        return
    shown = tbl.slice(0, limit)
    print_table(shown.to_pylist(), tbl.column_names)
    more = f" (showing {limit})" if tbl.num_rows > limit else ""
    console.print(f"{tbl.num_rows} row(s){more}")


def _pins(values: list[str] | None) -> dict[str, int]:
    pins: dict[str, int] = {}
    for v in values or []:
        name, sep, version = v.partition("=")
        if not sep or not version.isdigit():
            raise typer.BadParameter(f"--at expects table=version, got {v!r}")
        pins[name] = int(version)
    return pins


def sql(
    query: str = typer.Argument(..., help="A SELECT over tables named <layer>.<name>."),
    at: list[str] = typer.Option(None, "--at", help="Pin a table: bronze.orders=3 (repeatable)."),
    as_of: datetime = typer.Option(None, "--as-of", help="Read every table as of this time."),
    as_json: bool = JsonOption,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
    limit: int = typer.Option(100, help="Rows to show in the table view."),
) -> None:
    """Run DuckDB SQL over the lake."""
    tbl = platform().lake.sql(query, versions=_pins(at), as_of=as_of)
    _print_arrow(tbl, as_json=as_json, as_csv=as_csv, limit=limit)


@lake_app.command("ingest")
def ingest(
    table: str = typer.Argument(..., help="bronze.<name>"),
    path: str = typer.Argument(..., help="A file, a folder or a glob (CSV, JSONL, Parquet)."),
    fmt: str = typer.Option(None, "--format", help="csv, jsonl or parquet (default: suffix)."),
    batch_id: str = typer.Option(None, help="Idempotency key (default: content hash)."),
    delimiter: str = typer.Option(",", help="CSV delimiter."),
    schema_evolution: bool = typer.Option(False, help="Allow new columns."),
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Load raw files into a bronze table; bad rows go to <table>__quarantine."""
    lake = platform().lake
    with progress(f"ingest {table}", "rows", quiet=quiet) as on_progress:
        r = lake.ingest(
            table,
            path,
            format=fmt,
            batch_id=batch_id,
            delimiter=delimiter,
            schema_evolution=schema_evolution,
            on_progress=on_progress,
        )
    if as_json:
        print_json(r)
    elif r.skipped:
        console.print(f"{table}@{r.version}: batch {r.batch_id} was already ingested (no-op)")
    else:
        console.print(
            f"{table}@{r.version}: {r.rows_written} rows written, "
            f"{r.rows_quarantined} quarantined (batch {r.batch_id})"
        )


@lake_app.command("refresh")
def refresh(
    table: str = typer.Argument(None, help="The table to refresh."),
    all_: bool = typer.Option(False, "--all", help="Every defined table, in dependency order."),
    full: bool = typer.Option(False, "--full", help="Recompute everything."),
    submit: bool = SubmitOption,
    quiet: bool = QuietOption,
    as_json: bool = JsonOption,
) -> None:
    """Recompute defined tables (incrementally unless --full)."""
    if bool(table) == all_:
        raise typer.BadParameter("give a table or --all")
    lake = platform().lake
    if submit:
        job = (
            lake.refresh_all(full=full, submit=True)
            if all_
            else lake.refresh(table, full=full, submit=True)
        )
        print_submitted(job, as_json)
        return
    with progress("refresh", "tables", quiet=quiet) as on_progress:
        if all_:
            results = lake.refresh_all(full=full, on_progress=on_progress)
        else:
            results = [lake.refresh(table, full=full)]
            if on_progress is not None:
                on_progress(1, 1)
    if as_json:
        print_json(results)
        return
    for r in results:
        console.print(
            f"{r.table}@{r.version} ({r.mode}): {r.rows_written} rows written, "
            f"{r.rows_quarantined} quarantined"
        )
        for e in r.expectations:
            mark = "ok " if not e.failed else "FAIL"
            console.print(f"  {mark} {e.name}: {e.passed} passed, {e.failed} failed ({e.action})")


@lake_app.command("definitions")
def definitions(
    limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """List curated table definitions (the SQL each defined table is computed from)."""
    list_command(
        platform().lake.list_definitions,
        ["name", "source", "incremental", "primary_key", "sql"],
        limit,
        every,
        as_json,
        rows=lambda d: d.model_dump(exclude={"function"}),
    )


@lake_app.command("tables")
def tables(
    layer: str = typer.Option(None, help="Only this layer."),
    limit: int = LimitOption,
    every: bool = AllOption,
    as_json: bool = JsonOption,
) -> None:
    """List lake tables."""
    list_command(
        lambda **kw: platform().lake.list_tables(layer=layer, **kw),
        ["name", "version", "num_rows", "size_bytes", "owner", "defined"],
        limit,
        every,
        as_json,
    )


@lake_app.command("show")
def show(table: str = typer.Argument(...), as_json: bool = JsonOption) -> None:
    """A table's version, size, schema and last refresh."""
    lake = platform().lake
    info = lake.get_table(table)
    refreshes = lake.list_refreshes(table, limit=1).items if info.defined else []
    if as_json:
        print_json({"table": info, "last_refresh": refreshes[0] if refreshes else None})
        return
    console.print(
        f"[bold]{info.name}[/bold]  version {info.version}  {info.num_rows} rows  "
        f"{info.size_bytes} bytes  owner {info.owner}"
    )
    console.print(f"location: {info.location}")
    print_table(info.columns, ["name", "type", "nullable", "description", "tags"], title="columns")
    if refreshes:
        r = refreshes[0]
        print_table(
            r["expectations"],
            ["name", "passed", "failed", "action"],
            title=f"expectations at version {r['version']} ({r['mode']})",
        )


@lake_app.command("history")
def history(
    table: str = typer.Argument(...),
    limit: int = typer.Option(None, help="At most this many versions."),
    as_json: bool = JsonOption,
) -> None:
    """A table's versions: time, operation, who, rows added/removed."""
    items = platform().lake.history(table, limit=limit)
    if as_json:
        print_json(items)
        return
    print_table(
        [i.model_dump() for i in items],
        ["version", "timestamp", "operation", "principal", "rows_added", "rows_removed"],
    )


@lake_app.command("reconcile")
def reconcile(
    all_tables: bool = typer.Option(
        False, "--all", help="Compare every table's Delta version with the catalog (admins)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Record lake commits the catalog missed (a write that crashed or met a locked
    catalog after its Delta commit): marked recovered and audited."""
    found = platform().lake.reconcile(all_tables=all_tables)
    if as_json:
        print_json(found)
    elif not found:
        console.print("the catalog has every lake commit")
    for r in [] if as_json else found:
        console.print(f"{r.table}: recorded version(s) {r.versions} as recovered")


@lake_app.command("restore")
def restore(
    table: str = typer.Argument(...),
    version: int = typer.Option(None, help="Restore to this version."),
    as_of: datetime = typer.Option(None, "--as-of", help="Restore to this time (UTC)."),
) -> None:
    """Restore a table to an earlier version (as a new version)."""
    info = platform().lake.restore(table, version=version, as_of=as_of)
    console.print(f"{table} restored; now at version {info.version} with {info.num_rows} rows")


@lake_app.command("optimize")
def optimize(
    table: str = typer.Argument(...),
    z_order: str = typer.Option(None, "--z-order", help="Comma-separated columns."),
    as_json: bool = JsonOption,
) -> None:
    """Compact small files (optionally z-ordered)."""
    cols = [c.strip() for c in z_order.split(",")] if z_order else None
    r = platform().lake.optimize(table, z_order=cols)
    if as_json:
        print_json(r)
        return
    m = r.metrics
    console.print(
        f"{table}@{r.version}: {m.get('numFilesRemoved', 0)} files compacted into "
        f"{m.get('numFilesAdded', 0)}"
    )


@lake_app.command("vacuum")
def vacuum(
    table: str = typer.Argument(...),
    retention_hours: int = typer.Option(168, help="Keep files needed by the last N hours."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list what would go."),
    force: bool = typer.Option(False, "--force", help="Allow retention below 7 days."),
) -> None:
    """Delete files no recent version needs."""
    r = platform().lake.vacuum(table, retention_hours=retention_hours, dry_run=dry_run, force=force)
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{table}: {verb} {r.metrics['files_deleted']} file(s)")


@lake_app.command("define")
def define(
    table: str = typer.Argument(..., help="<layer>.<name>"),
    sql_file: Path = typer.Argument(..., help="A file with the SELECT that computes it."),
    incremental: bool = typer.Option(False, help="Refresh incrementally."),
    primary_key: str = typer.Option(None, help="Comma-separated key columns (merge)."),
    dedupe_on: str = typer.Option(None, help="Comma-separated columns to dedupe on."),
) -> None:
    """Define a table by a SQL file (expectations: use the SDK)."""
    from shipyard.lake import TableDefinition

    def cols(v: str | None) -> list[str] | None:
        return [c.strip() for c in v.split(",")] if v else None

    info = platform().lake.define(
        TableDefinition(
            name=table,
            sql=sql_file.read_text(),
            incremental=incremental,
            primary_key=cols(primary_key),
            dedupe_on=cols(dedupe_on),
        )
    )
    console.print(f"defined {info.name} ({len(info.columns)} columns) at version {info.version}")


@lake_app.command("lineage")
def lineage(
    column: str = typer.Argument(..., help="<layer>.<table>.<column>, e.g. gold.daily.amount"),
    depth: int = typer.Option(10, help="How many levels up."),
    as_json: bool = JsonOption,
) -> None:
    """Which upstream columns feed a column (derived from the SQL definitions)."""
    result = platform().lake.column_lineage(column, depth=depth)
    if as_json:
        print_json(result)
        return
    from rich.tree import Tree

    feeds: dict[str, list[str]] = {}
    for target, source in result.edges:
        feeds.setdefault(target, []).append(source)

    def grow(node: Tree, key: str, seen: frozenset[str]) -> None:
        for child in feeds.get(key, []):
            if child not in seen:
                grow(node.add(child), child, seen | {child})

    tree = Tree(f"[bold]{column}[/bold]")
    grow(tree, column, frozenset({column}))
    console.print(tree)


@lake_app.command("describe")
def describe(
    column: str = typer.Argument(..., help="<layer>.<table>.<column>"),
    description: str = typer.Option(None, help="What the column means."),
    tag: list[str] = typer.Option(None, "--tag", help="Classification tag, e.g. pii."),
) -> None:
    """Document and classify a column."""
    table, _, col = column.rpartition(".")
    platform().lake.describe_column(table, col, description=description, tags=tag or None)
    console.print(f"{column} updated")


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app."""
    app.command("sql")(sql)
    app.add_typer(lake_app, name="lake")
