"""Move a catalog across engines, row for row: SQLite -> PostgreSQL and back.

A team that starts on the embedded defaults and moves to PostgreSQL restores a
SQLite restore point with ``catalog_url=postgresql://...``. The target gets its
schema from the migrations (so it is exactly what ``Platform.open`` would make),
then every row of every table the catalog declares, in foreign-key order, in one
transaction. Rows the migrations seed (built-in roles, ...) are replaced by the
source's. Identity columns then continue after the copied ids.

The other way, a PostgreSQL restore point (a ``pg_dump`` archive) restores into an
embedded project: its rows are read from the archive with ``pg_restore`` alone
(``pgdump.py``, no server), turned from COPY text into the catalog's column types
and written into a SQLite file the migrations made, in one transaction (ADR 0048).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipyard._internal.db import Database
from shipyard.backup.pgdump import read_blocks
from shipyard.catalog import migrate
from shipyard.errors import InvalidArgument

#: Rows per INSERT batch.
BATCH = 5_000


def sqlite_into_postgres(source: Path, url: str) -> int:
    """Copy the SQLite catalog file ``source`` into the empty PostgreSQL database at ``url``.

    The source is upgraded to the current schema first (a restore point may be older
    than this code). Returns the number of rows copied.
    """
    src, dst = Database(f"sqlite:///{source}"), Database(url)
    try:
        migrate.upgrade(src)
        migrate.upgrade(dst)
        tables = [
            t
            for t in migrate.all_tables_metadata().sorted_tables
            if t.name != migrate.VERSION_TABLE
        ]
        copied = 0
        with src.engine.connect() as read, dst.engine.begin() as write:
            for table in reversed(tables):
                write.execute(table.delete())
            for table in tables:
                rows = read.execute(sa.select(table)).mappings()
                for chunk in rows.partitions(BATCH):
                    write.execute(table.insert(), [dict(r) for r in chunk])
                    copied += len(chunk)
            for table in tables:
                _continue_identity(write, table)
        return copied
    finally:
        src.dispose()
        dst.dispose()


def _continue_identity(conn: sa.Connection, table: sa.Table) -> None:
    """Move a serial/identity column's sequence past the ids that were copied in."""
    for column in table.primary_key.columns:
        if not isinstance(column.type, sa.Integer):
            continue
        seq = conn.execute(
            sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
        ).scalar()
        if seq is None:
            continue
        conn.execute(
            sa.text(
                f'SELECT setval(:seq, COALESCE((SELECT max("{column.name}") FROM '
                f'"{table.name}"), 0) + 1, false)'
            ),
            {"seq": seq},
        )


def postgres_dump_into_sqlite(dump: Path, target: Path, schema: str = "public") -> int:
    """Copy the catalog rows in ``schema`` of the ``pg_dump`` archive ``dump`` into a
    new SQLite file.

    The file gets its schema (and version stamp) from the migrations; only the
    catalog's own tables are copied (not its version table, not Optuna's tables). The
    archive must be of this release's schema: an older or newer one is refused before
    anything is written. Returns the number of rows copied.

    Raises:
        InvalidArgument: the archive's catalog schema is not this release's.
        BackendUnavailable: ``pg_restore`` is missing or cannot read the archive.
    """
    _check_schema(dump, schema)
    tables = {
        t.name: t
        for t in migrate.all_tables_metadata().sorted_tables
        if t.name != migrate.VERSION_TABLE
    }
    db = Database(f"sqlite:///{target}")
    try:
        migrate.upgrade(db)
        copied = 0
        with db.engine.begin() as write:
            # Rows arrive in the archive's order, not foreign-key order: check at commit.
            write.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
            for table in reversed(list(tables.values())):
                write.execute(table.delete())  # rows the migrations seeded: the source's win
            for name, columns, rows in read_blocks(dump, schema):
                into = tables.get(name)
                if into is None:
                    for _row in rows:  # another program's table in the same database
                        pass
                    continue
                copied += _insert(write, into, columns, rows)
            if _has_search_index(write):
                write.exec_driver_sql("INSERT INTO assets_fts(assets_fts) VALUES ('rebuild')")
        return copied
    finally:
        db.dispose()


def _check_schema(dump: Path, schema: str) -> None:
    heads: set[str] = set()
    known = migrate.known_revisions()
    for name, columns, rows in read_blocks(
        dump, schema, [migrate.VERSION_TABLE, migrate.LEGACY_VERSION_TABLE]
    ):
        at = columns.index("version_num")
        found = {str(r[at]) for r in rows}
        # Optuna keeps its own revisions in the legacy table (ADR 0045): not the catalog's.
        heads |= found if name == migrate.VERSION_TABLE else found & known
    if heads and migrate.is_current(heads):
        return
    other = sorted(heads - known)
    made_by = f"another release (revisions {', '.join(other)})" if other else "an older release"
    raise InvalidArgument(
        f"the restore point's catalog was made by {made_by}: restore it into a new "
        "PostgreSQL database (--catalog-url), where it is upgraded"
    )


def _insert(conn: sa.Connection, table: sa.Table, columns: list[str], rows: Any) -> int:
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise InvalidArgument(
            f"the restore point's table {table.name} has columns this release lacks "
            f"({', '.join(unknown)})"
        )
    readers = [(c, _reader(table.c[c].type)) for c in columns]
    copied = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(
            {
                c: (_null(table.c[c].type) if v is None else read(v))
                for (c, read), v in zip(readers, row, strict=True)
            }
        )
        if len(batch) >= BATCH:
            conn.execute(table.insert(), batch)
            copied, batch = copied + len(batch), []
    if batch:
        conn.execute(table.insert(), batch)
        copied += len(batch)
    return copied


def _null(kind: sa.types.TypeEngine[Any]) -> Any:
    """SQL NULL: a JSON column would store ``None`` as the JSON text ``null``."""
    return sa.null() if isinstance(kind, sa.JSON) else None


def _reader(kind: sa.types.TypeEngine[Any]) -> Callable[[str], Any]:
    """How a value of this column type reads from COPY's text format."""
    if isinstance(kind, sa.Boolean):
        return lambda v: v == "t"
    if isinstance(kind, sa.Integer):
        return int
    if isinstance(kind, sa.Float | sa.Numeric):
        return float  # also 'NaN', 'Infinity', '-Infinity'
    if isinstance(kind, sa.DateTime):
        return _timestamp
    if isinstance(kind, sa.JSON):
        return json.loads
    if isinstance(kind, sa.LargeBinary):
        return lambda v: bytes.fromhex(v.removeprefix("\\x"))
    return str


def _timestamp(text: str) -> datetime:
    """``2026-12-06 05:05:48.123456+00`` (pg_dump writes ISO dates) as aware UTC.

    SQLite keeps the wall time only, so it must be UTC's."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _has_search_index(conn: sa.Connection) -> bool:
    return bool(
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'assets_fts'"
        ).first()
    )
