"""The vector service contract: the same cases in-process and over ``shipyard.connect``.

A subclass provides ``vector_settings`` (the ``vectors`` section of the settings);
``Skins`` runs every case on the platform itself and through the remote client, so
the HTTP routes and the generated client answer exactly as ``VectorService`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.security.models import Role
from shipyard.vectors import VectorIndexSpec
from tests.contract.remote import Skin, Skins

N, D = 600, 8


def rows(ids: range, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((len(ids), D)).astype(np.float32)
    return pa.table(
        {
            "doc_id": pa.array(list(ids), pa.int64()),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), D),
            "lang": [("en", "de", "fr")[i % 3] for i in ids],
            "shard": [i % 100 for i in ids],
            # every 50th document is about rockets; the others about boats
            "title": [f"rocket launch {i}" if i % 50 == 0 else f"boat trip {i}" for i in ids],
        }
    )


SPEC = VectorIndexSpec(
    name="docs",
    table="gold.docs",
    id_column="doc_id",
    vector_column="emb",
    dimension=D,
    metric="l2",
    filterable=("lang", "shard"),
)


#: The same documents, with keyword search over their titles (hybrid queries).
HYBRID = SPEC.model_copy(update={"name": "docs_text", "text_column": "title"})


class VectorServiceContract(Skins):
    @pytest.fixture
    def vector_settings(self) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, vector_settings: dict[str, Any], skin: Skin) -> Iterator[Any]:
        p = Platform.open(tmp_path / "project", vectors=vector_settings)
        p.lake.write("gold.docs", rows(range(N)))
        yield skin(p)
        p.close()

    @pytest.fixture
    def built(self, plat: Any) -> Any:
        plat.vectors.apply([SPEC])
        plat.vectors.build("docs")
        return plat

    def test_plan_apply_get_and_list(self, plat: Any) -> None:
        assert plat.vectors.plan([SPEC]) == [
            {"name": "docs", "table": "gold.docs", "action": "create"}
        ]
        plat.vectors.apply([SPEC.model_dump()])  # a mapping works as well as a spec
        assert plat.vectors.plan([SPEC])[0]["action"] == "unchanged"
        info = plat.vectors.get("docs")
        assert (info.name, info.owner, info.spec, info.state.table_version) == (
            "docs",
            "default",
            SPEC,
            None,
        )
        assert [i.name for i in plat.vectors.list()] == ["docs"]

    def test_build_full_incremental_and_unchanged(self, built: Any) -> None:
        assert built.vectors.get("docs").state.rows == N
        assert built.vectors.build("docs").mode == "unchanged"
        more = rows(range(N, N + 5), seed=1)  # Delta keeps vectors as list<float>: append so
        emb = more.column("emb").cast(pa.list_(pa.float32()))
        built.lake.write("gold.docs", more.set_column(1, "emb", emb))
        state = built.vectors.build("docs")
        assert (state.mode, state.rows) == ("incremental", N + 5)
        assert built.vectors.build("docs", full=True).mode == "build"

    def test_query_by_vector_by_id_and_with_filters(self, built: Any) -> None:
        x = np.stack(rows(range(N)).column("emb").to_numpy(zero_copy_only=False))
        res = built.vectors.query("docs", x[7], k=5)
        assert res.ids[0] == 7 and len(res.hits) == 5 and res.matched == N
        assert [h.distance for h in res.hits] == sorted(h.distance for h in res.hits)
        near = built.vectors.query("docs", id=7, k=5)
        assert 7 not in near.ids and len(near.ids) == 5
        one_pct = built.vectors.query("docs", x[7].tolist(), k=10, filter={"shard": 7})
        assert one_pct.matched == N // 100 == len(one_pct.ids)  # all 6 of them
        assert set(one_pct.ids) == set(range(7, N, 100))
        five = built.vectors.query("docs", x[7], k=5, filter={"shard": 7})
        assert five.ids == one_pct.ids[:5]
        langs = built.vectors.query("docs", x[7], k=10, filter={"lang": ["de", "fr"], "shard": 7})
        assert len(langs.ids) == 4 and all(i % 3 for i in langs.ids)

    def test_hybrid_queries_fuse_keywords_and_vectors_exactly_k(self, built: Any) -> None:
        built.vectors.apply([HYBRID])
        built.vectors.build("docs_text")
        x = np.stack(rows(range(N)).column("emb").to_numpy(zero_copy_only=False))
        plain = built.vectors.query("docs_text", x[7], k=5)
        res = built.vectors.query("docs_text", x[7], k=5, text="Rocket!")
        assert res.method == "hybrid" and len(res.ids) == len(res.distances) == 5
        assert plain.ids[0] == 7 and 7 in res.ids  # the nearest row stays
        pool = built.vectors.query("docs_text", x[7], k=100).ids
        in_both = [i for i in pool if i % 50 == 0]  # near rows that mention rockets lead
        assert res.ids[:2] == in_both[:2]
        assert res.distances == sorted(res.distances)
        # a filter still gives exactly k (no rocket has shard 7: vectors fill it)
        few = built.vectors.query("docs_text", x[7], k=4, filter={"shard": 7}, text="rocket")
        assert len(few.ids) == 4 and all(i % 100 == 7 for i in few.ids)
        en = built.vectors.query("docs_text", id=7, k=10, filter={"lang": "en"}, text="rocket")
        assert len(en.ids) == 10 and 7 not in en.ids and all(i % 3 == 0 for i in en.ids)
        assert {0, 150, 300, 450} & set(en.ids)
        # FTS syntax in the text is searched for as words, never interpreted
        odd = built.vectors.query("docs_text", x[7], k=3, text='rocket" OR NEAR(boat* title:')
        assert len(odd.ids) == 3
        with pytest.raises(InvalidArgument, match="no text_column"):
            built.vectors.query("docs", x[7], k=3, text="rocket")
        with pytest.raises(InvalidArgument, match="no words"):
            built.vectors.query("docs_text", x[7], k=3, text="?! -")
        with pytest.raises(InvalidArgument, match="no string column 'shard'"):
            built.vectors.apply([HYBRID.model_copy(update={"text_column": "shard"})])

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"k": 0}, "k must be an integer in 1..10000"),
            ({"k": 10_001}, "k must be an integer in 1..10000"),
            ({"vector": [0.0] * (D + 1)}, "dimension"),
            ({"vector": [float("nan")] * D}, "NaN"),
            ({"filter": {"colour": "red"}}, "colour"),
            ({"vector": None}, "exactly one of"),
        ],
    )
    def test_bad_queries_are_refused_in_one_line(
        self, built: Any, kwargs: dict[str, Any], message: str
    ) -> None:
        args: dict[str, Any] = {"vector": [0.0] * D, **kwargs}
        with pytest.raises(InvalidArgument, match=message) as err:
            built.vectors.query("docs", args.pop("vector"), **args)
        assert "\n" not in str(err.value)

    def test_unknown_index_and_row_are_not_found(self, built: Any) -> None:
        with pytest.raises(NotFound):
            built.vectors.query("nope", [0.0] * D)
        with pytest.raises(NotFound):
            built.vectors.get("nope")
        with pytest.raises(NotFound):
            built.vectors.query("docs", id=10**9)

    def test_queries_follow_the_source_tables_grants(self, built: Any) -> None:
        outsider = built.security.create_principal("otto", team="other", role=Role.EDITOR)
        other = built.as_principal(outsider)
        with pytest.raises(PermissionDenied, match="needs 'read' on team 'default'"):
            other.vectors.query("docs", [0.0] * D)
        with pytest.raises(PermissionDenied):
            other.vectors.build("docs")
        with pytest.raises(PermissionDenied):
            other.vectors.get("docs")
        assert other.vectors.list() == []
        viewer = built.security.create_principal("vera", team="default", role=Role.VIEWER)
        mine = built.as_principal(viewer)
        assert len(mine.vectors.query("docs", [0.0] * D, k=3).ids) == 3
        with pytest.raises(PermissionDenied):
            mine.vectors.apply([SPEC.model_copy(update={"description": "mine"})])
        denied = built.audit.list_records(action="vectors.*", outcome="denied").items
        assert {(r.principal, r.action) for r in denied} >= {
            ("otto", "vectors.query"),
            ("otto", "vectors.build"),
            ("vera", "vectors.apply"),
        }
