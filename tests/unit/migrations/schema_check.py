"""Shared by the SQLite and PostgreSQL migration tests."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from shipyard._internal.db import Database
from shipyard.catalog.migrate import (
    FOREIGN_TABLES,
    VERSION_TABLE,
    alembic_config,
    all_tables_metadata,
)


def alembic_upgrade_heads(url: str) -> None:
    """What `alembic upgrade heads` does from the command line (env.py builds the engine)."""
    command.upgrade(alembic_config(url), "heads")


def _declared(name: str | None, type_: str, parent: Any) -> bool:
    """Leave out what migrations create outside the metadata: the catalog's text index
    (SQLite's FTS5 table and its shadow tables, PostgreSQL's trigram indexes), and the
    tables Optuna keeps in the same database."""
    if type_ == "table" and name and (name.startswith("assets_fts") or name in FOREIGN_TABLES):
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))


def schema_diff(db: Database) -> list[Any]:
    """Differences between the database and the SQLAlchemy metadata (empty when equal)."""
    with db.engine.connect() as conn:
        opts = {"compare_type": True, "include_name": _declared, "version_table": VERSION_TABLE}
        ctx = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(ctx, all_tables_metadata()))
