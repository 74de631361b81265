"""Bring the metadata database to the newest schema (Alembic, every branch head).

Each capability owns one Alembic branch in ``catalog/migrations/versions``
(``<capability>_NNNN_*.py`` with ``branch_labels=("<capability>",)`` and
``depends_on="core_0001"``), so capabilities evolve their schemas independently.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from shipyard._internal.db import Database, is_connection_error, metadata

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


@functools.cache
def _heads() -> frozenset[str]:
    # Parsing the migration scripts costs milliseconds; they do not change in a process.
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def upgrade(db: Database) -> None:
    """Upgrade to every head; a no-op (one query) when already there.

    Raises:
        BackendUnavailable: the database cannot be reached (URL shown with the password masked).
    """
    heads = _heads()
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            conn.rollback()
        if current == heads:
            return
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise db.unavailable(exc) from None
        raise
