"""Shared by the SQLite and PostgreSQL migration tests."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shipyard._internal.db import Database
from shipyard.catalog.migrate import alembic_config, all_tables_metadata


def alembic_upgrade_heads(url: str) -> None:
    """What `alembic upgrade heads` does from the command line (env.py builds the engine)."""
    command.upgrade(alembic_config(url), "heads")


def schema_diff(db: Database) -> list[Any]:
    """Differences between the database and the SQLAlchemy metadata (empty when equal)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, all_tables_metadata()))
