"""A PostgreSQL server with pgvector for the vector tests, and a fresh database per test.

The machine's PostgreSQL (``SHIPYARD_TEST_PG_URL``) is used when it offers the ``vector``
extension. Otherwise the tests start their own: ``pgserver`` (a dev dependency) ships a
self-contained PostgreSQL 16 with pgvector 0.6.2. It is started once per test process
(each xdist worker its own, in its own temporary directory: it listens only on a Unix
socket there) and stopped and deleted at the end. Only when neither works do the tests
skip, and under ``SHIPYARD_REQUIRE_SERVICES=1`` they fail instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import _reachable, services_required

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
#: The tests' own server is thrown away at the end: no flushing to disk, and no parallel
#: index-build workers (they cost more than they give on small tables and busy cores).
THROWAWAY = (
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_parallel_maintenance_workers = 0",
)


def has_pgvector(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
            is not None
        )


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (keeps a ``?host=/socket/dir`` query)."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _start_pgserver() -> tuple[Any, Path]:
    with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set" on import
        warnings.simplefilter("ignore")
        import pgserver

    import psycopg

    home = Path(tempfile.mkdtemp(prefix="shipyard-pgvector-"))  # short: the socket is there
    try:
        server = pgserver.get_server(home / "data", cleanup_mode=None)
    except Exception:
        shutil.rmtree(home, ignore_errors=True)
        raise
    try:
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            for setting in THROWAWAY:
                conn.execute(f"ALTER SYSTEM SET {setting}")
            conn.execute("SELECT pg_reload_conf()")
    except Exception:
        _stop_pgserver(server, home)
        raise
    return server, home


def _stop_pgserver(server: Any, home: Path) -> None:
    """Immediate shutdown (SIGQUIT; the data is thrown away), then delete the directory."""
    process = server.get_postmaster_info().process
    try:
        os.kill(server.get_pid(), signal.SIGQUIT)
        process.wait(timeout=30)
    except (ProcessLookupError, OSError):
        pass
    shutil.rmtree(home, ignore_errors=True)


def _safely(check: Any, url: str) -> bool:
    try:
        return bool(check(url))
    except Exception:  # e.g. refused credentials: then try pgserver
        return False


@dataclass(frozen=True)
class PgVectorServer:
    url: str
    #: The tests' own server, deleted whole at the end: its databases need no dropping.
    throwaway: bool

    @contextmanager
    def database(self, template: str | None = None) -> Iterator[str]:
        """A new database (a copy of ``template`` if given), dropped afterwards."""
        import psycopg

        name = f"shipyard_v_{uuid.uuid4().hex[:12]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield with_database(self.url, name)
        finally:
            if not self.throwaway:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[PgVectorServer]:
    """A server with the ``vector`` extension available (see the module docstring)."""
    machine = os.environ.get("SHIPYARD_TEST_PG_URL", DEFAULT_PG)
    if _reachable(machine, 5432) and _safely(has_pgvector, machine):
        yield PgVectorServer(machine, throwaway=False)
        return
    try:
        server, home = _start_pgserver()
    except Exception as exc:
        message = (
            f"no PostgreSQL with pgvector: {machine} has no 'vector' extension and "
            f"pgserver did not start ({type(exc).__name__}: {str(exc).strip()[:200]})"
        )
        if services_required():
            pytest.fail(message + " (SHIPYARD_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    try:
        yield PgVectorServer(server.get_uri(), throwaway=True)
    finally:
        _stop_pgserver(server, home)


@pytest.fixture
def pgvector_url(pgvector_server: PgVectorServer) -> Iterator[str]:
    """A fresh, empty database on a server with pgvector."""
    with pgvector_server.database() as url:
        yield url
