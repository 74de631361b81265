"""The vector-index contract: every backend passes it unchanged.

A subclass provides ``make``: a fixture returning ``factory(spec) -> VectorIndex`` where
two calls with the same spec reach the same stored index (so persistence is testable).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from shipyard.errors import InvalidArgument
from shipyard.vectors.backends.base import VectorIndex
from shipyard.vectors.models import VectorIndexSpec

Factory = Callable[[VectorIndexSpec], VectorIndex]
N, D = 4000, 16


def spec(**kw: Any) -> VectorIndexSpec:
    base: dict[str, Any] = {
        "name": "items",
        "table": "gold.items",
        "id_column": "id",
        "vector_column": "v",
        "dimension": D,
        "metric": "l2",
        "filterable": ("shard", "tag"),
        "params": {"ef_search": 64},
    }
    return VectorIndexSpec(**{**base, **kw})


def data(n: int = N, seed: int = 0) -> tuple[list[int], np.ndarray, dict[str, list[Any]]]:
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((40, D)).astype(np.float32)
    x = centers[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, D)).astype(np.float32)
    ids = list(range(n))
    return (
        ids,
        x.astype(np.float32),
        {
            "shard": [i % 100 for i in ids],  # shard == s selects 1%
            "tag": ["odd" if i % 2 else "even" for i in ids],
        },
    )


def brute(x: np.ndarray, q: np.ndarray, metric: str, k: int, rows: np.ndarray) -> list[int]:
    sub = x[rows]
    if metric == "l2":
        d = ((sub - q) ** 2).sum(1)
    elif metric == "cosine":
        d = 1 - (sub @ q) / (np.linalg.norm(sub, axis=1) * np.linalg.norm(q))
    else:
        d = -(sub @ q)
    return rows[np.argsort(d, kind="stable")[:k]].tolist()


class VectorIndexContract:
    @pytest.fixture
    def make(self) -> Factory:
        raise NotImplementedError

    @pytest.fixture
    def built(self, make: Factory) -> tuple[VectorIndex, np.ndarray]:
        ix = make(spec())
        ids, x, attrs = data()
        ix.build(ids, x, attrs)
        return ix, x

    # -- exact k with filters, recall ------------------------------------------------------

    @pytest.mark.parametrize(
        "flt", [None, {"tag": "odd"}, {"shard": 7}, {"shard": [3, 4]}, {"shard": 7, "tag": "odd"}]
    )
    def test_filtered_queries_return_exactly_k_with_recall(
        self, built: tuple[VectorIndex, np.ndarray], flt: dict[str, Any] | None
    ) -> None:
        ix, x = built
        ids, _, attrs = data()
        ok = np.array(
            [
                all(
                    attrs[c][i] in (v if isinstance(v, list) else [v])
                    for c, v in (flt or {}).items()
                )
                for i in ids
            ]
        )
        rows = np.flatnonzero(ok)
        rng = np.random.default_rng(1)
        hits = total = 0
        for q in x[rng.integers(0, N, 20)] + 0.05:
            res = ix.query(q, 10, flt)
            assert len(res.ids) == min(10, len(rows)) and res.matched == len(rows)
            assert all(ok[i] for i in res.ids)
            assert res.distances == sorted(res.distances)
            truth = brute(x, q, "l2", 10, rows)
            hits += len(set(truth) & set(res.ids))
            total += len(truth)
        assert hits / total >= 0.95

    def test_k_larger_than_the_matches_gives_all_matches(
        self, built: tuple[VectorIndex, np.ndarray]
    ) -> None:
        ix, x = built
        res = ix.query(x[0], 100, {"shard": 0, "tag": "even"})
        assert sorted(res.ids) == list(range(0, N, 100)) and res.matched == 40
        assert ix.query(x[0], 5, {"shard": 1000}).ids == []

    def test_a_filter_matching_only_far_rows_still_gives_exactly_k(self, make: Factory) -> None:
        """Three quarters of the rows match, but none near the query: a beam around the
        query finds no match, so the answer must come from further away and still have k
        rows. Repeated: a plan cached by the server must not change that."""
        ix = make(spec())
        ids, x, attrs = data(1000)
        near = np.arange(1000) < 250
        x = np.where(near[:, None], x + 3, x - 3).astype(np.float32)
        ix.build(ids, x, {**attrs, "tag": ["near" if n else "far" for n in near]})
        far_rows = np.flatnonzero(~near)
        for q in x[:12] + 0.05:
            res = ix.query(q, 10, {"tag": "far"})
            assert res.matched == len(far_rows) and len(res.ids) == 10
            assert all(not near[i] for i in res.ids) and res.distances == sorted(res.distances)

    @pytest.mark.parametrize("metric", ["l2", "cosine", "ip"])
    @pytest.mark.parametrize("index_type", ["exact", "hnsw"])
    def test_metrics_order_and_distances(self, make: Factory, metric: str, index_type: str) -> None:
        ix = make(spec(metric=metric, index_type=index_type))
        ids, x, attrs = data(500)
        ix.build(ids, x, attrs)
        q = x[17] * 1.5 + 0.1
        res = ix.query(q, 5)
        truth = brute(x, q, metric, 5, np.arange(500))
        assert res.ids == truth
        v = x[truth[0]]
        want = {
            "l2": float(np.linalg.norm(v - q)),
            "cosine": float(1 - v @ q / (np.linalg.norm(v) * np.linalg.norm(q))),
            "ip": float(-(v @ q)),
        }[metric]
        assert res.distances[0] == pytest.approx(want, rel=1e-3, abs=1e-4)

    # -- changes ------------------------------------------------------------------------------

    def test_upsert_replaces_and_delete_removes(
        self, built: tuple[VectorIndex, np.ndarray]
    ) -> None:
        ix, x = built
        far = np.full((1, D), 50.0, dtype=np.float32)
        ix.upsert([5], far, {"shard": [5], "tag": ["odd"]})
        assert ix.query(far[0], 1).ids == [5] and ix.count() == N
        assert ix.query(x[5], 3).ids[0] != 5
        ix.upsert([N], x[5:6], {"shard": [42], "tag": ["new"]})
        assert ix.query(x[5], 1, {"tag": "new"}).ids == [N]
        assert ix.delete([5, N, 10**9]) == 2 and ix.count() == N - 1
        assert 5 not in ix.query(far[0], 10, {"shard": 5}).ids
        assert ix.get_vector(5) is None and ix.get_vector(6) is not None

    def test_string_ids(self, make: Factory) -> None:
        ix = make(spec(filterable=()))
        _, x, _ = data(50)
        ix.build([f"k{i}" for i in range(50)], x, {})
        assert ix.query(x[3], 1).ids == ["k3"]

    # -- persistence --------------------------------------------------------------------------

    def test_save_and_load_round_trip_only_saved_state(
        self, make: Factory, built: tuple[VectorIndex, np.ndarray]
    ) -> None:
        ix, x = built
        ix.save(7)
        before = ix.query(x[9], 10, {"tag": "odd"})
        ix.delete([9])  # not saved
        again = make(spec())
        assert again.load() == 7 and again.count() == N
        assert again.query(x[9], 10, {"tag": "odd"}).ids == before.ids
        ix.close()
        again.close()

    def test_nothing_saved_loads_as_none(self, make: Factory) -> None:
        assert make(spec(name="never")).load() is None

    # -- bad inputs -----------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("call", "message"),
        [
            (lambda ix, x: ix.query(x[0], 0), "k must be"),
            (lambda ix, x: ix.query(x[0], 10_001), "k must be"),
            (lambda ix, x: ix.query(x[0][:3], 5), "16-dimensional"),
            (lambda ix, x: ix.query(np.full(D, np.nan), 5), "NaN"),
            (lambda ix, x: ix.query(x[0], 5, {"color": "red"}), "not a filterable column"),
            (
                lambda ix, x: ix.upsert([1], x[:1, :3], {"shard": [1], "tag": ["a"]}),
                "16-dimensional",
            ),
            (
                lambda ix, x: ix.upsert(
                    [1, 2], np.full((2, D), np.nan), {"shard": [1, 1], "tag": ["a", "a"]}
                ),
                "id 1 has NaN",
            ),
            (
                lambda ix, x: ix.upsert([1, 1], x[:2], {"shard": [1, 1], "tag": ["a", "a"]}),
                "duplicate",
            ),
            (lambda ix, x: ix.upsert([1], x[:1], {"shard": [1]}), "'tag' is missing"),
        ],
    )
    def test_bad_inputs_are_refused_in_one_line(
        self, built: tuple[VectorIndex, np.ndarray], call: Callable[..., Any], message: str
    ) -> None:
        ix, x = built
        with pytest.raises(InvalidArgument, match=message) as err:
            call(ix, x)
        assert "\n" not in str(err.value)
        assert ix.count() == N
