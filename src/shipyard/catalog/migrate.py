"""Bring the metadata database to the newest schema (Alembic, every branch head).

Each capability owns one Alembic branch in ``catalog/migrations/versions``
(``<capability>_NNNN_*.py`` with ``branch_labels=("<capability>",)`` and
``depends_on="core_0001"``), so capabilities evolve their schemas independently.
"""

from __future__ import annotations

import ast
import functools
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from shipyard._internal.db import Database, is_connection_error, metadata

if TYPE_CHECKING:  # alembic is imported only when a migration must run (~0.2-0.7 s)
    from alembic.config import Config

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
    "shipyard.pipelines.tables",
    "shipyard.monitoring.tables",
    "shipyard.quotas.tables",
    "shipyard.usage.tables",
    "shipyard.environments.tables",
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
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


@functools.cache
def _graph() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(script heads, revision -> parents incl. ``depends_on``), parsed once per process.

    Read from the scripts' module-level ``revision``/``down_revision``/``depends_on``
    literals, so a database already at every head costs no alembic import.
    """
    parents: dict[str, frozenset[str]] = {}
    downs: set[str] = set()  # a head is what no script names as its down_revision
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        fields = _literals(path)
        if isinstance(fields.get("revision"), str):
            down = _as_tuple(fields.get("down_revision"))
            downs.update(down)
            parents[fields["revision"]] = frozenset(down + _as_tuple(fields.get("depends_on")))
    return frozenset(parents.keys() - downs), parents


def _literals(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        target, value = None, None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                out[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return out


def _db_heads(conn: sa.Connection) -> set[str] | None:
    """The revisions in ``alembic_version`` (None before the first migration)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return {r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))}


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
            current = _db_heads(conn)
            conn.rollback()
        if current is not None and is_current(current):
            return
        from alembic import command

        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise db.unavailable(exc) from None
        raise


def __getattr__(name: str) -> Any:
    """``migrate.command`` (alembic's) stays importable from here, loaded on first use."""
    if name == "command":
        from alembic import command

        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
