"""Bring the metadata database to the newest schema (Alembic, every branch head).

Each capability owns one Alembic branch in ``catalog/migrations/versions``
(``<capability>_NNNN_*.py`` with ``branch_labels=("<capability>",)`` and
``depends_on="core_0001"``), so capabilities evolve their schemas independently.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
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
    "shipyard.events.tables",
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
def _graph() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(script heads, revision -> parents incl. ``depends_on``), parsed once per process."""
    script = ScriptDirectory.from_config(alembic_config())
    parents: dict[str, frozenset[str]] = {}
    for rev in script.walk_revisions():
        deps = {script.get_revision(d).revision for d in _as_tuple(rev.dependencies)}
        parents[rev.revision] = frozenset(set(_as_tuple(rev.down_revision)) | deps)
    return frozenset(script.get_heads()), parents


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def is_current(db_heads: set[str]) -> bool:
    """Whether a database at ``db_heads`` already has every script head applied.

    ``alembic_version`` keeps only the database's own heads: a revision other
    branches depend on (``core_0001``) is applied but not listed, so compare
    against the ancestors of what is listed, not the list itself.
    """
    heads, parents = _graph()
    applied: set[str] = set()
    todo = [h for h in db_heads if h in parents]
    if len(todo) != len(db_heads):
        return False  # a revision this code does not know: let alembic say so
    while todo:
        rev = todo.pop()
        if rev not in applied:
            applied.add(rev)
            todo.extend(parents[rev])
    return heads <= applied


def upgrade(db: Database) -> None:
    """Upgrade to every head; a no-op (one query) when already there.

    Raises:
        BackendUnavailable: the database cannot be reached (URL shown with the password masked).
    """
    try:
        with db.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            conn.rollback()
        if is_current(current):
            return
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise db.unavailable(exc) from None
        raise
