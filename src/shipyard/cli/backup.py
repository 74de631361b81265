"""`shipyard backup create|list|show|verify|restore|prune`"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from shipyard.cli._common import JsonOption, console, platform, print_json, print_table
from shipyard.cli._paging import AllOption, LimitOption, list_command
from shipyard.errors import InvalidArgument

app = typer.Typer(
    help="Restore points of the catalog, lake, artifacts and online store.",
    no_args_is_help=True,
)


@app.command("create")
def create(as_json: bool = JsonOption) -> None:
    """Write one consistent restore point to backup.root, then apply the retention policy."""
    point = platform().backup.create_backup()
    if as_json:
        print_json(point)
        return
    console.print(
        f"restore point {point.id}: {len(point.tables)} tables, {point.artifacts} artifacts, "
        f"{point.total_bytes:,} bytes in {point.seconds:.2f} s"
    )


@app.command("list")
def list_points(
    limit: int = LimitOption, every: bool = AllOption, as_json: bool = JsonOption
) -> None:
    """Restore points, oldest first; an incomplete one was never finished (never restored)."""
    list_command(
        platform().backup.list_backups,
        ["id", "status", "started_at", "tables", "artifacts", "total_bytes"],
        limit,
        every,
        as_json,
        rows=lambda p: {
            **p.model_dump(),
            "tables": len(p.tables),
            "started_at": f"{p.started_at:%Y-%m-%d %H:%M:%S}",
        },
        whole_page=True,
    )


@app.command("show")
def show(point_id: str, as_json: bool = JsonOption) -> None:
    """One restore point: its tables at their Delta versions."""
    point = platform().backup.get_backup(point_id)
    if as_json:
        print_json(point)
        return
    console.print(
        f"{point.id} ({point.status}), catalog: {point.catalog_dialect}, online: {point.online}"
    )
    print_table([t.model_dump() for t in point.tables], ["name", "version", "num_rows"])


@app.command("verify")
def verify(point_id: str, as_json: bool = JsonOption) -> None:
    """Read the point back: every file's SHA-256, every table at its version. Exit 1 if bad."""
    report = platform().backup.verify_backup(point_id)
    if as_json:
        print_json(report)
    elif report.ok:
        console.print(
            f"ok: {report.files_checked} files and {report.tables_checked} tables verified"
        )
    else:
        for problem in report.problems:
            console.print(f"[red]{problem}[/red]")
    if not report.ok:
        raise typer.Exit(1)


@app.command("restore")
def restore(
    point_id: str,
    into: Path = typer.Option(..., "--into", help="A new, empty project folder."),
    source: str = typer.Option(
        None, "--from", help="Backup root to read (default: this project's backup.root)."
    ),
    catalog_url: str = typer.Option(
        None,
        "--catalog-url",
        help="A new, empty PostgreSQL database (any point: a SQLite catalog moves into it). "
        "Without it the catalog is a SQLite file in the new project, from any point too.",
    ),
    lake_root: str = typer.Option(None, help="Lake root of the new project."),
    artifact_root: str = typer.Option(None, help="Artifact root of the new project."),
    sets: list[str] = typer.Option(
        None,
        "--set",
        help="section.key=value for the new shipyard.yaml (e.g. online.backend=redis).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Restore a point into a new project (never into this one)."""
    from shipyard.backup.archive import Archive
    from shipyard.backup.restore import restore as do_restore
    from shipyard.platform import Platform
    from shipyard.storage import open_artifact_store

    if source:
        archive = Archive(open_artifact_store(source))
    else:
        archive = Archive(platform().backends.backups.get())
    report = do_restore(
        archive,
        point_id,
        into,
        catalog_url=catalog_url,
        lake_root=lake_root,
        artifact_root=artifact_root,
        settings=_settings(sets or []),
        open_platform=Platform.open,
    )
    if as_json:
        print_json(report)
        return
    console.print(
        f"restored {report.id} into {report.project_dir}: {report.tables} tables, "
        f"{report.artifacts} artifacts, online store {report.online} in {report.seconds:.2f} s"
    )


def _settings(pairs: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        section, dot, field = key.partition(".")
        if not (eq and dot and section and field):
            raise InvalidArgument(f"--set takes section.key=value, not '{pair[:80]}'")
        out.setdefault(section, {})[field] = yaml.safe_load(value)
    return out


@app.command("prune")
def prune(
    keep_last: int = typer.Option(None, help="Complete points to keep (default backup.keep_last)."),
    as_json: bool = JsonOption,
) -> None:
    """Apply the retention policy now."""
    report = platform().backup.prune_backups(keep_last=keep_last)
    if as_json:
        print_json(report)
        return
    console.print(f"deleted {len(report.deleted)}, kept {len(report.kept)}")
