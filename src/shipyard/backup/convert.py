"""Move an embedded (SQLite) catalog into a new PostgreSQL database, row for row.

A team that starts on the embedded defaults and moves to PostgreSQL restores a
SQLite restore point with ``catalog_url=postgresql://...``. The target gets its
schema from the migrations (so it is exactly what ``Platform.open`` would make),
then every row of every table the catalog declares, in foreign-key order, in one
transaction. Rows the migrations seed (built-in roles, ...) are replaced by the
source's. Identity columns then continue after the copied ids.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from shipyard._internal.db import Database
from shipyard.catalog import migrate

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
