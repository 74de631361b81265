"""Vector indexes over feature views (issue #18), in-process and over ``shipyard.connect``.

The index holds the view's latest row per entity, keyed by the entity's join key, is
updated when the view is materialized, is authorized by the view's team, and refuses
a bad spec (unknown view, a column that is not a vector) in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.features import Entity, Feature, FeatureView
from shipyard.platform import Platform
from shipyard.security.models import Role
from shipyard.vectors import VectorIndexSpec
from tests.contract.remote import Skin, Skins

N, D = 200, 8
SCHEMA = pa.schema(
    [
        ("item_id", pa.int64()),
        ("event_timestamp", pa.timestamp("us", tz="UTC")),
        ("emb", pa.list_(pa.float32())),
        ("category", pa.string()),
    ]
)
#: As code, the way a project file declares it: the source names the view.
SPEC = {
    "name": "items_ix",
    "source": "feature_view:items",
    "vector_column": "emb",
    "dimension": D,
    "metric": "l2",
    "filterable": ["category"],
}


def vectors(ids: range, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(ids), D)).astype(np.float32)


def rows(ids: range, seed: int = 0, day: int = 1) -> pa.Table:
    x = vectors(ids, seed)
    return pa.table(
        {
            "item_id": list(ids),
            "event_timestamp": [datetime(2026, 1, day, tzinfo=UTC)] * len(ids),
            "emb": [list(v) for v in x],
            "category": [("a", "b")[i % 2] for i in ids],
        },
        schema=SCHEMA,
    )


class TestFeatureViewIndexes(Skins):
    @pytest.fixture
    def plat(self, tmp_path: Path, skin: Skin) -> Iterator[Any]:
        p = Platform.open(tmp_path / "project")
        p.lake.write("gold.items", rows(range(N)))
        p.features.apply(
            [
                Entity("item", ["item_id"]),
                FeatureView(
                    "items",
                    ["item"],
                    "gold.items",
                    [Feature("emb", f"vector[{D}]"), Feature("category", "string")],
                ),
            ]
        )
        yield skin(p)
        p.close()

    def test_materializing_the_view_builds_then_updates_the_index(self, plat: Any) -> None:
        assert plat.vectors.plan([SPEC]) == [
            {"name": "items_ix", "table": "feature_view:items", "action": "create"}
        ]
        plat.vectors.apply([SPEC])
        info = plat.vectors.get("items_ix")
        assert (info.spec.feature_view, info.spec.id_column, info.owner) == (
            "items",
            "item_id",
            "default",
        )
        assert plat.vectors.plan([SPEC])[0]["action"] == "unchanged"
        plat.features.materialize(["items"])
        state = plat.vectors.get("items_ix").state
        assert (state.mode, state.rows, state.table_version) == ("build", N, 0)
        x = vectors(range(N), 0)
        res = plat.vectors.query("items_ix", x[7], k=5)
        assert res.ids[0] == 7 and len(res.ids) == 5
        odd = plat.vectors.query("items_ix", id=7, k=10, filter={"category": "b"})
        assert len(odd.ids) == 10 and 7 not in odd.ids and all(i % 2 for i in odd.ids)
        # new entities and a newer value of entity 7: the next materialization diffs
        newer = rows(range(N, N + 5), seed=1, day=2)
        moved = rows(range(7, 8), seed=2, day=3)
        plat.lake.write("gold.items", pa.concat_tables([newer, moved]), mode="append")
        plat.features.materialize(["items"])
        state = plat.vectors.get("items_ix").state
        assert (state.mode, state.rows, state.table_version) == ("incremental", N + 5, 1)
        now7 = vectors(range(7, 8), 2)[0]
        assert plat.vectors.query("items_ix", now7, k=1).ids == [7]
        assert plat.vectors.query("items_ix", vectors(range(N, N + 5), 1)[3], k=1).ids == [N + 3]
        assert plat.vectors.build("items_ix", full=True).mode == "build"  # rebuilt from the lake
        assert plat.vectors.query("items_ix", now7, k=1).ids == [7]

    def test_online_lookups_return_the_vectors(self, plat: Any) -> None:
        plat.features.materialize(["items"])
        got = plat.features.get_online_features(
            ["items:emb", "items:category"], entity_rows=[{"item_id": 3}, {"item_id": 10**6}]
        ).to_dict()
        assert got["emb"][0] == pytest.approx(vectors(range(N), 0)[3].tolist())
        assert got["emb"][1] is None and got["category"] == ["b", None]

    def test_bad_specs_are_refused_in_one_line(self, plat: Any) -> None:
        cases: list[tuple[dict[str, Any], type[Exception], str]] = [
            ({"source": "feature_view:itemz"}, NotFound, "no feature view named 'itemz'"),
            ({"vector_column": "category", "filterable": []}, InvalidArgument, "not a list of 8"),
            ({"dimension": 4}, InvalidArgument, "not a list of 4 floats"),
            ({"filterable": ["colour"]}, InvalidArgument, "has no column 'colour'"),
            ({"id_column": "category", "filterable": []}, InvalidArgument, "join key 'item_id'"),
            ({"table": "gold.items"}, InvalidArgument, "exactly one source"),
            ({"source": "view:items"}, InvalidArgument, "unknown source kind 'view'"),
        ]
        for change, error, message in cases:
            with pytest.raises(error, match=message) as err:
                plat.vectors.apply([{**SPEC, **change}])
            assert "\n" not in str(err.value)
        assert plat.vectors.list() == []

    def test_another_teams_editor_cannot_build_or_query(self, plat: Any) -> None:
        plat.vectors.apply([SPEC])
        plat.features.materialize(["items"])
        outsider = plat.security.create_principal("otto", team="other", role=Role.EDITOR)
        other = plat.as_principal(outsider)
        with pytest.raises(PermissionDenied, match="needs 'read' on team 'default'"):
            other.vectors.query("items_ix", id=3, k=3)
        with pytest.raises(PermissionDenied):
            other.vectors.build("items_ix")
        with pytest.raises(PermissionDenied):
            other.vectors.apply(
                [
                    VectorIndexSpec(
                        name="mine", feature_view="items", vector_column="emb", dimension=D
                    )
                ]
            )
        with pytest.raises(PermissionDenied):
            other.vectors.get("items_ix")
        assert other.vectors.list() == []
        viewer = plat.security.create_principal("vera", team="default", role=Role.VIEWER)
        assert len(plat.as_principal(viewer).vectors.query("items_ix", id=3, k=3).ids) == 3
