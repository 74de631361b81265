"""What every list command shares: ``--limit N`` and ``--all`` over a paged service call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

from shipyard._internal.paging import Page, all_items
from shipyard.cli._common import err_console

T = TypeVar("T")

LimitOption: Any = typer.Option(
    None, "--limit", help="Rows per page (default and maximum: the paging settings)."
)
AllOption: Any = typer.Option(False, "--all", help="Every row: follow the page tokens.")


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
