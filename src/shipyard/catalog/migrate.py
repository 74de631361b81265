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

#: Where Alembic records the catalog's revisions. Not Alembic's default
#: ``alembic_version``: that name is left to Optuna's RDB storage, whose tables share
#: the catalog's database (and PostgreSQL schema) and whose Alembic stamp is not
#: configurable (ADR 0045).
VERSION_TABLE = "shipyard_alembic_version"
#: The catalog's version table before ADR 0045; adopted once by ``upgrade``.
LEGACY_VERSION_TABLE = "alembic_version"
#: Tables other software keeps in the catalog's database (Optuna's studies, ADR 0045):
#: never the catalog's, left out of autogenerate comparisons.
FOREIGN_TABLES = frozenset(
    {
        "alembic_version",
        "studies",
        "study_directions",
        "study_user_attributes",
        "study_system_attributes",
        "trials",
        "trial_user_attributes",
        "trial_system_attributes",
        "trial_params",
        "trial_values",
        "trial_intermediate_values",
        "trial_heartbeats",
        "version_info",
    }
)
#: ``pg_advisory_xact_lock`` key serialising the version-table adoption.
_ADOPT_LOCK = 0x5348_4950_5944_0045

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


def known_revisions() -> frozenset[str]:
    """Every catalog revision this release's scripts declare."""
    return frozenset(_graph()[1])


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


def _db_heads(conn: sa.Connection, table: str = VERSION_TABLE) -> set[str] | None:
    """The revisions in the version ``table`` (None before the first migration)."""
    if not sa.inspect(conn).has_table(table):
        return None
    return {r[0] for r in conn.execute(sa.text(f"SELECT version_num FROM {table}"))}


def _legacy_heads(conn: sa.Connection) -> set[str]:
    """The catalog's own revisions still in ``alembic_version`` (a catalog migrated
    before ADR 0045); Optuna's revisions there are not the catalog's."""
    _heads, parents = _graph()
    return (_db_heads(conn, LEGACY_VERSION_TABLE) or set()) & parents.keys()


def version_table() -> sa.Table:
    """The version table as Alembic creates it (``version_num``, primary key ``<name>_pkc``)."""
    return sa.Table(
        VERSION_TABLE,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("version_num", name=f"{VERSION_TABLE}_pkc"),
    )


def adopt_legacy_version_table(db: Database) -> set[str] | None:
    """Move the catalog's revisions from ``alembic_version`` into ``VERSION_TABLE``.

    One transaction, serialised between processes (SQLite: ``BEGIN IMMEDIATE``;
    PostgreSQL: an advisory lock), re-checked under it: the process that comes second
    finds the new table and changes nothing. Revisions that are not the catalog's stay
    in ``alembic_version``; the table is dropped once empty. Returns the heads now in
    ``VERSION_TABLE`` (None: neither table holds the catalog's revisions).
    """
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADOPT_LOCK})
        current = _db_heads(conn)
        if current is not None:
            return current
        ours = _legacy_heads(conn)
        if not ours:
            return None
        table = version_table()
        table.create(conn)
        conn.execute(table.insert(), [{"version_num": rev} for rev in sorted(ours)])
        legacy = sa.table(LEGACY_VERSION_TABLE, sa.column("version_num"))
        conn.execute(legacy.delete().where(legacy.c.version_num.in_(sorted(ours))))
        if not conn.execute(sa.select(sa.func.count()).select_from(legacy)).scalar():
            conn.execute(sa.text(f"DROP TABLE {LEGACY_VERSION_TABLE}"))
    return ours


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def is_current(db_heads: set[str]) -> bool:
    """Whether a database at ``db_heads`` already has every script head applied.

    The version table keeps only the database's own heads: a revision other
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
            legacy = current is None and bool(_legacy_heads(conn))
            conn.rollback()
        if legacy:
            current = adopt_legacy_version_table(db)
        if current is not None and is_current(current):
            return
        if current is None and db.dialect == "sqlite" and _copy_template(db):
            return
        _alembic_upgrade(db)
    except DBAPIError as exc:
        if is_connection_error(exc):
            raise db.unavailable(exc) from None
        raise


def _alembic_upgrade(db: Database) -> None:
    from alembic import command

    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


#: A migrated schema: its DDL in creation order, and the rows the migrations wrote.
Template = tuple[
    tuple[str, ...], tuple[tuple[str, tuple[str, ...], tuple[tuple[Any, ...], ...]], ...]
]

_OBJECT_ORDER = "CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END"


@functools.cache
def sqlite_template() -> Template:
    """Every migration applied once per process to an in-memory SQLite database, as replayable SQL.

    A fresh project replays this (one transaction, a few milliseconds) instead of
    running every migration script through Alembic (~0.1 s of CPU per project,
    which the test suite pays thousands of times). The statements are SQLite's own
    record of the migrated schema (``sqlite_master``), so they are the migrations'
    result, not a second description of it (``tests/unit/migrations`` compares both).
    """
    memory = Database("sqlite:///:memory:")
    try:
        _alembic_upgrade(memory)
        with memory.engine.connect() as conn:
            objects = conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                f"AND name NOT LIKE 'sqlite_%' ORDER BY {_OBJECT_ORDER}, rowid"
            ).all()
            # a virtual table (the catalog's FTS5 search index) makes its own shadow tables
            virtual = [n for _k, n, sql in objects if sql.upper().startswith("CREATE VIRTUAL")]
            objects = [
                o
                for o in objects
                if o[0] != "table" or not any(o[1].startswith(f"{v}_") for v in virtual)
            ]
            rows = []
            for kind, name, _sql in objects:
                if kind != "table" or name in virtual:
                    continue
                result = conn.exec_driver_sql(f'SELECT * FROM "{name}"')
                data = tuple(tuple(r) for r in result)
                if data:
                    rows.append((name, tuple(result.keys()), data))
        # the shadow tables' start state, as the migration left it (an empty index, rebuilt)
        rebuild = [f"INSERT INTO {v}({v}) VALUES ('rebuild')" for v in virtual]
        return (*(sql for _k, _n, sql in objects), *rebuild), tuple(rows)
    finally:
        memory.dispose()


def _copy_template(db: Database) -> bool:
    """Build an empty SQLite database from ``sqlite_template`` (False: it is not empty).

    Checked and written under one ``BEGIN IMMEDIATE``, so two processes opening the
    same new project cannot both build it: the second finds it current.
    """
    ddl, rows = sqlite_template()
    with db.engine.begin() as conn:
        existing = conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).scalar()
        if existing:
            return False
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        for statement in ddl:
            conn.exec_driver_sql(statement)
        for table, columns, data in rows:
            names = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            conn.exec_driver_sql(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', list(data))
    return True


def __getattr__(name: str) -> Any:
    """``migrate.command`` (alembic's) stays importable from here, loaded on first use."""
    if name == "command":
        from alembic import command

        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
