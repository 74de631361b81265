"""CLI commands of the features capability."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the root `shipyard` app."""
