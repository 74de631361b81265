"""The vector-index contract on PostgreSQL + pgvector (a fresh database per test).

The server must have the ``vector`` extension. It is an extension of the server, not a
service: this workplace's package archive does not carry it (``.ci/run`` installs it where
the archive does), so a server without it skips these tests with that reason, and fails
them only under ``SHIPYARD_REQUIRE_PGVECTOR=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import BackendUnavailable
from shipyard.platform import Platform
from shipyard.vectors.backends.base import VectorIndex
from shipyard.vectors.backends.pgvector import PgVectorIndex
from shipyard.vectors.models import VectorIndexSpec
from tests.contract.vectors.suite import Factory, VectorIndexContract, spec

pytestmark = pytest.mark.integration


def _has_pgvector(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
            is not None
        )


@pytest.fixture
def pgvector_url(pg_url: str) -> str:
    if not _has_pgvector(pg_url):
        message = "the PostgreSQL server has no pgvector extension (postgresql-15-pgvector)"
        if os.environ.get("SHIPYARD_REQUIRE_PGVECTOR") == "1":
            pytest.fail(message + " (SHIPYARD_REQUIRE_PGVECTOR=1)")
        pytest.skip(message)
    return pg_url


class TestPgVectorIndex(VectorIndexContract):
    @pytest.fixture
    def make(self, pgvector_url: str) -> Iterator[Factory]:
        made: list[VectorIndex] = []

        def factory(s: VectorIndexSpec) -> VectorIndex:
            ix = PgVectorIndex(s, pgvector_url)
            made.append(ix)
            return ix

        yield factory
        for ix in made:
            ix.close()


class _Missing(PgVectorIndex):
    EXTENSION = "vector_not_installed_anywhere"


def test_a_server_without_the_extension_is_named_in_one_line(pg_url: str) -> None:
    with pytest.raises(
        BackendUnavailable, match="has no 'vector_not_installed_anywhere' extension"
    ) as err:
        _Missing(spec(), pg_url).load()
    assert "\n" not in str(err.value) and "postgres@" in str(err.value)


def test_a_non_postgresql_url_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="needs a PostgreSQL URL"):
        PgVectorIndex(spec(), "sqlite:///x.db")


def test_the_service_on_pgvector(tmp_path: Path, pg_url: str) -> None:
    """Through ``p.vectors`` with ``vectors.backend: pgvector``: works where the server has
    the extension, and says in one line that it has not where it has not."""
    from tests.unit.vectors.test_service import SPEC, _table

    p = Platform.open(tmp_path, catalog={"url": pg_url}, vectors={"backend": "pgvector"})
    try:
        p.lake.write("gold.items", _table(range(50)))
        p.vectors.apply([SPEC])
        if not _has_pgvector(pg_url):
            with pytest.raises(BackendUnavailable, match="has no 'vector' extension") as err:
                p.vectors.build("items")
            assert "\n" not in str(err.value)
            return
        assert p.vectors.build("items").rows == 50
        res = p.vectors.query("items", id=4, k=3, filter={"color": "red"})
        assert len(res.ids) == 3 and all(i % 3 == 0 for i in res.ids)
        p.lake.write("gold.items", _table(range(50, 60), seed=4))
        assert p.vectors.build("items").mode == "incremental"
    finally:
        p.close()
