"""The vector-index contract on PostgreSQL + pgvector (a fresh database per test).

The server is the machine's PostgreSQL when it offers the ``vector`` extension, else a
pgvector-enabled PostgreSQL 16 the tests start themselves (``pgserver``; see
``conftest.py``), so these tests run everywhere the dev dependencies are installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from shipyard.errors import BackendUnavailable, mask_url
from shipyard.platform import Platform
from shipyard.vectors.backends import pgvector
from shipyard.vectors.backends.base import VectorIndex
from shipyard.vectors.backends.pgvector import PgVectorIndex
from shipyard.vectors.models import VectorIndexSpec
from tests.contract.vectors.suite import Factory, N, VectorIndexContract, brute, data, spec
from tests.integration.vectors.conftest import PgVectorServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built_template(pgvector_server: PgVectorServer) -> Iterator[str]:
    """A database holding the suite's ``data()`` indexed as ``items`` (built, not saved at
    any table version): each test's database is a copy, so the 4,000-row HNSW index is
    built once per run instead of once per test."""
    with pgvector_server.database() as url:
        ix = PgVectorIndex(spec(), url)
        ix.build(*data())
        ix.save(None)
        ix.close()
        yield urlsplit(url).path.lstrip("/")


class TestPgVectorIndex(VectorIndexContract):
    @pytest.fixture(autouse=True)
    def _small_exact_threshold(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The suite's indexes are small: make filtered queries use HNSW as at scale.
        monkeypatch.setattr(pgvector, "EXACT_BELOW", 100)

    @pytest.fixture
    def make(self, pgvector_server: PgVectorServer, built_template: str) -> Iterator[Factory]:
        made: list[VectorIndex] = []
        with pgvector_server.database(template=built_template) as url:

            def factory(s: VectorIndexSpec) -> VectorIndex:
                ix = PgVectorIndex(s, url)
                made.append(ix)
                return ix

            yield factory
            for ix in made:
                ix.close()

    @pytest.fixture
    def built(self, make: Factory) -> tuple[VectorIndex, np.ndarray]:
        return make(spec()), data()[1]  # the copied database holds it

    def test_the_copied_build_is_the_suites_data(
        self, built: tuple[VectorIndex, np.ndarray]
    ) -> None:
        ix, x = built
        assert ix.load() is None and ix.count() == N
        v = ix.get_vector(123)
        assert v is not None and np.array_equal(v, x[123])

    def test_a_short_hnsw_answer_is_redone_exactly_every_time(self, make: Factory) -> None:
        """pgvector 0.6 filters the ``ef_search`` HNSW candidates after the scan: with no
        match near the query it returns none. The exact answer must follow, also once
        psycopg has prepared the statement and the server reuses a plan (from the 6th
        time): ``enable_indexscan = off`` then still used the index and came back short.
        (Whether the server answers through the HNSW index or, for a generic plan, a
        GIN scan and a sort is its choice; the answer must be the exact one either way.)"""
        ix = make(spec())
        ids, x, attrs = data(1000)
        near = np.arange(1000) < 250
        x = np.where(near[:, None], x + 3, x - 3).astype(np.float32)
        ix.build(ids, x, {**attrs, "tag": ["near" if n else "far" for n in near]})
        for q in x[:12] + 0.05:
            res = ix.query(q, 10, {"tag": "far"})
            truth = brute(x, q, "l2", 10, np.flatnonzero(~near))
            assert res.matched == 750 and len(res.ids) == 10 and not near[res.ids].any()
            # the exact k nearest (compared by distance: near-ties may swap two ids)
            assert res.distances == pytest.approx(np.linalg.norm(x[truth] - q, axis=1), rel=1e-4)


class _Missing(PgVectorIndex):
    EXTENSION = "vector_not_installed_anywhere"


def test_a_server_without_the_extension_is_named_in_one_line(pgvector_url: str) -> None:
    with pytest.raises(
        BackendUnavailable, match="has no 'vector_not_installed_anywhere' extension"
    ) as err:
        _Missing(spec(), pgvector_url).load()
    assert "\n" not in str(err.value) and mask_url(pgvector_url) in str(err.value)


def test_a_non_postgresql_url_is_refused() -> None:
    with pytest.raises(BackendUnavailable, match="needs a PostgreSQL URL"):
        PgVectorIndex(spec(), "sqlite:///x.db")


def test_the_service_on_pgvector(
    tmp_path: Path, pgvector_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through ``p.vectors`` with ``vectors.backend: pgvector``: apply, build, query,
    an incremental build; and a server without the extension said in one line."""
    from tests.unit.vectors.test_service import SPEC, _table

    p = Platform.open(tmp_path, vectors={"backend": "pgvector", "url": pgvector_url})
    try:
        p.lake.write("gold.items", _table(range(50)))
        p.vectors.apply([SPEC])
        assert p.vectors.build("items").rows == 50
        res = p.vectors.query("items", id=4, k=3, filter={"color": "red"})
        assert len(res.ids) == 3 and all(i % 3 == 0 for i in res.ids)
        more = _table(range(50, 60), seed=4)
        p.lake.write("gold.items", more)
        state = p.vectors.build("items")
        assert (state.mode, state.rows) == ("incremental", 60)
        assert p.vectors.query("items", more.column("embedding")[7].as_py(), k=1).ids == [57]
        monkeypatch.setattr(PgVectorIndex, "EXTENSION", "vector_not_installed_anywhere")
        p.vectors.apply([SPEC.model_copy(update={"name": "items2"})])
        with pytest.raises(BackendUnavailable, match="has no 'vector_not_installed") as err:
            p.vectors.build("items2")
        assert "\n" not in str(err.value)
    finally:
        p.close()
