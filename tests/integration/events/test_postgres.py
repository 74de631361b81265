"""The event-bus contract on a real PostgreSQL server (one database for the module)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform
from tests.contract.events.suite import EventBusContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_events_url(pg_server_url: str) -> Iterator[str]:
    import psycopg

    name = f"shipyard_ev_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class TestPostgresEventBus(EventBusContract):
    @pytest.fixture
    def plat(self, tmp_path: Path, pg_events_url: str) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": pg_events_url})
        yield p
        p.close()
