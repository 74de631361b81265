"""PostgreSQL catalogs for the contract suite, cloned from one migrated template.

Migrating an empty PostgreSQL database takes most of a second; cloning a
migrated template (``CREATE DATABASE ... TEMPLATE``) takes a fraction of that.
The migration tests themselves still start from an empty database (``pg_url``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shipyard._internal.db import Database
from shipyard.catalog.migrate import upgrade


def _admin(sql: str, server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> Iterator[str]:
    name = f"shipyard_tpl_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"', pg_server_url)
    db = Database(f"{pg_server_url.rsplit('/', 1)[0]}/{name}")
    try:
        upgrade(db)
    finally:
        db.dispose()  # a template must have no open connections
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_server_url)


@pytest.fixture
def pg_catalog_url(pg_server_url: str, pg_template: str) -> Iterator[str]:
    """A fresh, already migrated PostgreSQL database for one test."""
    name = f"shipyard_t_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"', pg_server_url)
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', pg_server_url)
