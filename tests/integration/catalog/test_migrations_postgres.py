"""Migrations on a real, empty PostgreSQL database build exactly the declared schema."""

from __future__ import annotations

import pytest

from shipyard._internal.db import Database
from shipyard.catalog.migrate import upgrade
from tests.unit.migrations.schema_check import alembic_upgrade_heads, schema_diff

pytestmark = pytest.mark.integration


def test_alembic_upgrade_heads_on_empty_postgres_matches_metadata(pg_url: str) -> None:
    alembic_upgrade_heads(pg_url)
    db = Database(pg_url)
    try:
        assert schema_diff(db) == []
        upgrade(db)  # already current: a no-op, not an error
    finally:
        db.dispose()


def test_platform_upgrade_on_empty_postgres_matches_metadata(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        upgrade(db)
        assert schema_diff(db) == []
    finally:
        db.dispose()


def test_core_0002_chains_the_audit_rows_postgres_already_holds(pg_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    from shipyard.catalog.migrate import alembic_config
    from shipyard.governance.chain import GENESIS, verify

    command.upgrade(alembic_config(pg_url), "core_0001")  # the schema before the chain
    db = Database(pg_url)
    try:
        with db.begin() as conn:
            for i in range(3):
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_log (ts, principal, action, outcome, details) "
                        "VALUES (now(), 'p', 'a', 'ok', CAST(:d AS jsonb))"
                    ),
                    {"d": f'{{"i": {i}, "f": 2.0, "s": "\\u00e9"}}'},
                )
        upgrade(db)
        assert schema_diff(db) == []
        with db.connect() as conn:
            report = verify(conn)
            first = conn.execute(sa.text("SELECT prev_hash FROM audit_log ORDER BY id")).first()
        assert report.ok and report.rows_checked == 3
        assert first is not None and first[0] == GENESIS
    finally:
        db.dispose()
