"""What every command shares: the project option, opening the platform, output."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipyard._internal.job import Job
from shipyard._internal.paging import Page, all_items
from shipyard._internal.progress import OnProgress
from shipyard.config import find_project
from shipyard.errors import NotFound
from shipyard.platform import Platform

#: Width used when output is not a terminal: lines and tables are never broken for a pipe.
PIPE_WIDTH = 100_000


def make_console(*, stderr: bool = False) -> Console:
    """A console that wraps to the terminal, and breaks nothing when piped or redirected."""
    out = Console(stderr=stderr)
    if not out.is_terminal:
        out = Console(stderr=stderr, soft_wrap=True, width=PIPE_WIDTH)
    return out


console = make_console()
err_console = make_console(stderr=True)


class State:
    """Per-invocation options; ``reset`` runs at the start and end of every command."""

    project: Path = Path(".")
    debug: bool = False
    _platform: Platform | None = None
    #: ``SHIPYARD_ENVIRONMENT`` before ``--env`` set it (restored at the end of the command).
    _saved_env: tuple[bool, str | None] = (False, None)

    def reset(
        self, project: Path = Path("."), debug: bool = False, environment: str | None = None
    ) -> None:
        self.close()
        self.project = project
        self.debug = debug
        if environment is not None:
            # The environment variable, not an override: ``serve``'s workers, ``worker``'s
            # jobs and every child process open the same environment (ADR 0028).
            self._saved_env = (True, os.environ.get(ENVIRONMENT_VAR))
            os.environ[ENVIRONMENT_VAR] = environment

    def close(self) -> None:
        if self._platform is not None:
            self._platform.close()
            self._platform = None
        saved, self._saved_env = self._saved_env, (False, None)
        if saved[0]:
            if saved[1] is None:
                os.environ.pop(ENVIRONMENT_VAR, None)
            else:
                os.environ[ENVIRONMENT_VAR] = saved[1]


ENVIRONMENT_VAR = "SHIPYARD_ENVIRONMENT"
state = State()


def project_dir() -> Path:
    """The project this command acts on: found from ``-C`` (or here) upwards, like git.

    Raises:
        NotFound: no folder at or above it is a Shipyard project (nothing is created).
    """
    found = find_project(state.project)
    if found is None:
        raise NotFound("no Shipyard project here (run `shipyard init`)")
    return found


def platform() -> Platform:
    """The project's platform, opened once per command (as ``security.sdk_principal``)."""
    if state._platform is None:
        state._platform = Platform.open(project_dir())
    return state._platform


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(_plain(value), indent=2, default=str))


def print_table(rows: Iterable[Any], columns: Sequence[str], *, title: str | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")  # wrap long refs rather than cut them
    for row in rows:
        data = _plain(row)
        table.add_row(*[_cell(data.get(c) if isinstance(data, dict) else None) for c in columns])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")
LimitOption: Any = typer.Option(
    None, "--limit", help="Rows per page (default and maximum: the paging settings)."
)
AllOption: Any = typer.Option(False, "--all", help="Every row: follow the page tokens.")
T = TypeVar("T")


def fetch(call: Callable[..., Page[T]], *, limit: int | None, every: bool) -> Page[T]:
    """The first page of ``call(limit=, page_token=)``, or with ``every`` all pages joined."""
    if not every:
        return call(limit=limit, page_token=None)
    return Page(items=list(all_items(lambda token: call(limit=limit, page_token=token))))


def say_if_more(page: Page[Any]) -> None:
    """Tell the user (on stderr, so piped output stays clean) that the list goes on."""
    if page.next_page_token:
        err_console.print(
            f"[dim]{len(page.items)} shown, more exist: --all for every one, "
            "or a larger --limit[/dim]"
        )


def list_command(
    call: Callable[..., Page[T]],
    columns: Sequence[str],
    limit: int | None,
    every: bool,
    as_json: bool,
    *,
    rows: Callable[[T], Any] | None = None,
    whole_page: bool = False,
    title: str | None = None,
) -> None:
    """What a list command does: fetch (``--limit``/``--all``), say if more, print.

    ``--json`` prints the items (the whole page, token included, with ``whole_page``);
    otherwise a table of ``columns`` from each item (or ``rows(item)``).
    """
    page = fetch(call, limit=limit, every=every)
    say_if_more(page)
    if as_json:
        print_json(page if whole_page else page.items)
        return
    print_table([rows(i) for i in page.items] if rows else page.items, columns, title=title)


QuietOption = typer.Option(False, "--quiet", "-q", help="No progress output.")
SubmitOption = typer.Option(
    False,
    "--submit",
    help="Queue it as a job, print the job id and return (see `shipyard jobs wait`).",
)


def print_submitted(job: Job, as_json: bool) -> None:
    """What ``--submit`` prints: the job id alone on stdout (``JOB=$(... --submit)``), or
    the job as JSON; how to follow it goes to stderr."""
    if as_json:
        print_json(job)
    else:
        typer.echo(job.id)
    err_console.print(
        f"queued job {job.id} ({job.args.get('action', job.target)}, team {job.team}); "
        f"shipyard jobs wait {job.id}",
        markup=False,
        highlight=False,
    )


def first_line(exc: BaseException | str, limit: int = 300) -> str:
    """Some libraries put whole data structures in their messages: one short line."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


#: Seconds between progress lines when stderr is not a terminal.
PIPE_PROGRESS_EVERY = 2.0


@contextlib.contextmanager
def progress(label: str, unit: str, *, quiet: bool = False) -> Iterator[OnProgress | None]:
    """A service's ``on_progress``: a bar on a terminal, a line now and then when piped.

    Progress goes to stderr, so ``--json`` output on stdout stays clean; ``quiet`` shows none.
    """
    if quiet:
        yield None
    elif err_console.is_terminal:
        columns = (
            SpinnerColumn(),
            TextColumn(escape(label)),
            BarColumn(),
            TextColumn("{task.completed:,} " + unit),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(label, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)
    else:
        lines = _ProgressLines(label, unit)
        yield lines
        lines.finish()


class _ProgressLines:
    """``label: 1,200,000 rows`` on stderr at most every few seconds, and once at the end."""

    def __init__(self, label: str, unit: str) -> None:
        self.label, self.unit = label, unit
        self.last: tuple[int, int | None] | None = None
        self.printed: tuple[int, int | None] | None = None
        self.at = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        self.last = (done, total)
        now = time.monotonic()
        if self.printed is None or now - self.at >= PIPE_PROGRESS_EVERY:
            self._print()
            self.at = now

    def finish(self) -> None:
        if self.last is not None and self.last != self.printed:
            self._print()

    def _print(self) -> None:
        assert self.last is not None
        done, total = self.last
        count = f"{done:,}/{total:,}" if total is not None else f"{done:,}"
        typer.echo(f"{self.label}: {count} {self.unit}", err=True)
        self.printed = self.last
