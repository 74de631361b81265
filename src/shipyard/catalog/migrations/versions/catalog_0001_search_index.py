"""catalog: a text index for substring search, and assets by (owner, kind)

``CatalogService.search(text)`` matches ``text`` anywhere in an asset's name or
description (``lower(col) LIKE '%text%'``): without an index, a scan of every asset
(0.2-0.4 s at 110k assets). SQLite gets an FTS5 table with the trigram tokenizer over
``assets`` (external content, kept in step by triggers, so every writer, bulk loads
and foreign-key cascades included, keeps it current); the store asks it with the same
``LIKE`` pattern, which FTS5 answers from the trigram index. PostgreSQL gets GIN
trigram indexes (``pg_trgm``) on ``lower(name)`` and ``lower(description)``, which
its planner uses for the unchanged ``LIKE`` query. Where the extension or the
tokenizer is unavailable (SQLite older than 3.34, a role that may not create
extensions) nothing is created and search keeps scanning: same results, slower.

``ix_assets_owner_kind`` turns ``counts()`` (the home scorecard, the catalog's team
list) from a table scan plus a sort into a scan of a small covering index.

Revision ID: catalog_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = "core_0001"

FTS = "assets_fts"
_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER {FTS}_ai AFTER INSERT ON assets BEGIN
        INSERT INTO {FTS}(rowid, name, description) VALUES (new.rowid, new.name, new.description);
    END""",
    f"""CREATE TRIGGER {FTS}_ad AFTER DELETE ON assets BEGIN
        INSERT INTO {FTS}({FTS}, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
    END""",
    f"""CREATE TRIGGER {FTS}_au AFTER UPDATE OF name, description ON assets BEGIN
        INSERT INTO {FTS}({FTS}, rowid, name, description)
        VALUES ('delete', old.rowid, old.name, old.description);
        INSERT INTO {FTS}(rowid, name, description) VALUES (new.rowid, new.name, new.description);
    END""",
)


def _sqlite_upgrade(conn: sa.Connection) -> None:
    try:
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5(name, description, "
            "content='assets', content_rowid='rowid', tokenize='trigram')"
        )
    except sa.exc.OperationalError:  # no FTS5 or no trigram tokenizer (SQLite < 3.34)
        return
    for trigger in _SQLITE_TRIGGERS:
        conn.exec_driver_sql(trigger)
    conn.exec_driver_sql(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def _postgres_upgrade(conn: sa.Connection) -> None:
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            for col in ("name", "description"):
                conn.exec_driver_sql(
                    f"CREATE INDEX ix_assets_{col}_trgm ON assets "
                    f"USING gin (lower({col}) gin_trgm_ops)"
                )
    except sa.exc.DBAPIError:  # not installed, or the role may not create extensions
        return


def upgrade() -> None:
    op.create_index("ix_assets_owner_kind", "assets", ["owner", "kind"])
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_upgrade(conn)
    elif conn.dialect.name == "postgresql":
        _postgres_upgrade(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for suffix in ("ai", "ad", "au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {FTS}_{suffix}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS}")
    else:
        for col in ("name", "description"):
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS ix_assets_{col}_trgm")
    op.drop_index("ix_assets_owner_kind", table_name="assets")
