"""Shared fixtures: a fresh project per test, real service URLs for integration tests.

Integration tests read service URLs from the environment (defaults: the local
servers). A missing service skips locally and fails when
``SHIPYARD_REQUIRE_SERVICES=1`` (as ``.ci/run`` sets).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shipyard.platform import Platform

SHIPYARD_ENV_KEEP = {
    "SHIPYARD_REQUIRE_SERVICES",
    "SHIPYARD_TEST_PG_URL",
    "SHIPYARD_TEST_REDIS_URL",
    "SHIPYARD_TEST_NATS_URL",
}


def clear_shipyard_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset every SHIPYARD_* setting of the shell but the test services' ones."""
    for key in list(os.environ):
        if key.startswith("SHIPYARD_") and key not in SHIPYARD_ENV_KEEP:
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SHIPYARD_* setting leaks into a test from the shell."""
    clear_shipyard_env(monkeypatch)


@contextmanager
def shared_project(factory: pytest.TempPathFactory, name: str) -> Iterator[Platform]:
    """An empty project for a module- or session-scoped fixture, opened in a clean env.

    For tests that only read, or whose writes are refused, so that they need not each
    build the same world (the function-scoped ``_clean_env`` runs too late for it).
    """
    d = factory.mktemp(name) / "project"
    d.mkdir()
    (d / "shipyard.yaml").write_text("# a Shipyard project made by the tests\n")
    with pytest.MonkeyPatch.context() as mp:
        clear_shipyard_env(mp)
        with Platform.open(d) as p:
            yield p


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A fresh project folder: the CLI finds a project only where a ``shipyard.yaml`` is."""
    d = tmp_path / "project"
    d.mkdir()
    (d / "shipyard.yaml").write_text("# a Shipyard project made by the tests\n")
    return d


@pytest.fixture
def platform(project_dir: Path) -> Iterator[Platform]:
    p = Platform.open(project_dir)
    yield p
    p.close()


def services_required() -> bool:
    return os.environ.get("SHIPYARD_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1.0
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> str:
    """Return ``url`` if the server answers; skip (or fail in CI) if not."""
    if _reachable(url, default_port):
        return url
    message = f"{name} is not reachable at {url}"
    if services_required():
        pytest.fail(message + " (SHIPYARD_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    return require_service(
        "PostgreSQL",
        os.environ.get("SHIPYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        5432,
    )


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"shipyard_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = pg_server_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_service(
        "Redis", os.environ.get("SHIPYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), 6379
    )


@pytest.fixture(scope="session")
def nats_url() -> str:
    return require_service(
        "NATS", os.environ.get("SHIPYARD_TEST_NATS_URL", "nats://127.0.0.1:4222"), 4222
    )
