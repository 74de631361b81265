"""Bring the metadata database to the newest schema (Alembic, every branch head).

Each capability owns one Alembic branch in ``catalog/migrations/versions``
(``<capability>_NNNN_*.py`` with ``branch_labels=("<capability>",)`` and
``depends_on="core_0001"``), so capabilities evolve their schemas independently.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shipyard._internal.db import Database, metadata

MIGRATIONS = Path(__file__).parent / "migrations"

#: Modules that declare tables on the shared metadata.
TABLE_MODULES = (
    "shipyard.catalog.tables",
    "shipyard.security.tables",
    "shipyard.governance.tables",
    "shipyard.features.tables",
    "shipyard.tracking.tables",
    "shipyard.registry.tables",
    "shipyard.serving.tables",
    "shipyard.lake.tables",
)


def all_tables_metadata() -> sa.MetaData:
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return metadata


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(db: Database) -> None:
    """Upgrade to every head; a no-op (one query) when already there."""
    cfg = alembic_config()
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
        conn.rollback()
    if current == heads:
        return
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
