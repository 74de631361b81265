"""The vector-index contract on the embedded faiss backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shipyard.vectors.backends import faiss_hnsw
from shipyard.vectors.backends.faiss_hnsw import FaissIndex
from shipyard.vectors.models import VectorIndexSpec
from tests.contract.vectors.suite import Factory, VectorIndexContract, data, spec


class TestFaissIndex(VectorIndexContract):
    @pytest.fixture(autouse=True)
    def _small_exact_threshold(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The suite's indexes are small: make HNSW (filtered) answer what it would at scale.
        monkeypatch.setattr(faiss_hnsw, "EXACT_BELOW", 100)

    @pytest.fixture
    def make(self, tmp_path: Path) -> Factory:
        def factory(spec: VectorIndexSpec) -> FaissIndex:
            return FaissIndex(spec, tmp_path / f"{spec.name}.npz")

        return factory

    def test_methods_by_selectivity(self, make: Factory) -> None:
        ix = make(spec())
        ids, x, attrs = data()
        ix.build(ids, x, attrs)
        assert ix.query(x[0], 10).method == "hnsw"
        assert ix.query(x[0], 10, {"tag": "odd"}).method == "hnsw"
        assert ix.query(x[0], 10, {"shard": 3}).method == "exact"  # 1%: exact over 40 rows

    def test_a_short_hnsw_answer_falls_back_to_exact(
        self, make: Factory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(faiss_hnsw, "MAX_EF", 1)  # no beam wide enough: must go exact
        ix = make(spec())
        ids, x, attrs = data()
        ix.build(ids, x, attrs)
        res = ix.query(x[0], 10, {"tag": "odd"})
        assert res.method == "exact" and len(res.ids) == 10

    def test_deleted_rows_are_compacted_on_save(self, make: Factory) -> None:
        ix = make(spec())
        ids, x, attrs = data()
        ix.build(ids, x, attrs)
        ix.delete(ids[:N_HALF])
        ix.save(1)
        again = make(spec())
        again.load()
        assert again.count() == len(ids) - N_HALF
        assert len(again._ids) == again.count()  # the graph was rebuilt without them
        assert not set(again.query(x[0], 50).ids) & set(range(N_HALF))
        assert np.allclose(again.get_vector(N_HALF), x[N_HALF])


N_HALF = 2000
