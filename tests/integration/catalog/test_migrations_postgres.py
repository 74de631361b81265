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
