"""VectorService: apply validation, build from the lake (full and incremental), queries, authz."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.security.models import Role
from shipyard.vectors import VectorIndexSpec

D = 8


def _vectors(rows: list[list[float]]) -> pa.Array:
    return pa.array(rows, type=pa.list_(pa.float32()))


def _table(ids: range, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((len(ids), D)).astype(np.float32)
    return pa.table(
        {
            "item_id": pa.array(list(ids), pa.int64()),
            "embedding": _vectors(vecs.tolist()),
            "color": [["red", "blue", "green"][i % 3] for i in ids],
        }
    )


SPEC = VectorIndexSpec(
    name="items",
    table="gold.items",
    id_column="item_id",
    vector_column="embedding",
    dimension=D,
    metric="l2",
    filterable=("color",),
)


@pytest.fixture
def built(platform: Platform) -> Platform:
    platform.lake.write("gold.items", _table(range(300)))
    platform.vectors.apply([SPEC])
    platform.vectors.build("items")
    return platform


def test_apply_plans_then_is_unchanged(platform: Platform) -> None:
    platform.lake.write("gold.items", _table(range(10)))
    assert platform.vectors.plan([SPEC])[0]["action"] == "create"
    platform.vectors.apply([SPEC])
    assert platform.vectors.plan([SPEC])[0]["action"] == "unchanged"
    assert platform.vectors.get("items").state.table_version is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vector_column": "nope"}, "has no column 'nope'"),
        ({"filterable": ("size",)}, "has no column 'size'"),
        ({"vector_column": "color", "filterable": ()}, "not a list of 8 floats"),
        ({"metric": "manhattan"}, "metric"),
        ({"dimension": 0}, "dimension"),
        ({"params": {"m": 0}}, "must be in 1..4096"),
    ],
)
def test_apply_refuses_bad_definitions_in_one_line(
    platform: Platform, change: dict[str, object], message: str
) -> None:
    platform.lake.write("gold.items", _table(range(10)))
    bad = {**SPEC.model_dump(), **change}
    with pytest.raises(InvalidArgument, match=message) as err:
        platform.vectors.apply([bad])
    assert "\n" not in str(err.value)


def test_unknown_table_is_not_found(platform: Platform) -> None:
    with pytest.raises(NotFound):
        platform.vectors.apply([SPEC])


def test_query_by_vector_and_by_id(built: Platform) -> None:
    rows = built.lake.read("gold.items")
    v3 = rows.column("embedding")[3].as_py()
    res = built.vectors.query("items", v3, k=5)
    assert res.ids[0] == 3 and res.hits[0].distance == pytest.approx(0, abs=1e-5)
    assert len(res.hits) == 5 and res.table_version == 0
    by_id = built.vectors.query("items", id=3, k=5)
    assert 3 not in by_id.ids and len(by_id.ids) == 5
    assert by_id.ids == res.ids[1:] + by_id.ids[4:]


def test_filtered_query_returns_exactly_k_matching(built: Platform) -> None:
    res = built.vectors.query("items", [0.0] * D, k=50, filter={"color": "red"})
    assert len(res.ids) == 50 and all(i % 3 == 0 for i in res.ids)
    assert res.matched == 100
    few = built.vectors.query("items", [0.0] * D, k=50, filter={"color": ["nope"]})
    assert few.ids == [] and few.matched == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be"),
        ({"k": 10_001}, "k must be"),
        ({"k": True}, "k must be"),
        ({"vector": [1.0] * (D + 1)}, "8-dimensional"),
        ({"vector": [float("nan")] * D}, "NaN"),
        ({"filter": {"size": 1}}, "not a filterable column"),
        ({"vector": None}, "exactly one"),
    ],
)
def test_bad_queries_are_refused(built: Platform, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"vector": [0.0] * D, "k": 3, **kwargs}
    with pytest.raises(InvalidArgument, match=message):
        built.vectors.query("items", **args)  # type: ignore[arg-type]


def test_incremental_update_adds_and_removes_rows(built: Platform) -> None:
    built.lake.write("gold.items", _table(range(300, 310), seed=1))
    state = built.vectors.build("items")
    assert (state.mode, state.rows, state.table_version) == ("incremental", 310, 1)
    built.lake.write("gold.items", _table(range(0, 5)), mode="overwrite")
    state = built.vectors.build("items")
    assert (state.mode, state.rows) == ("incremental", 5)
    assert sorted(built.vectors.query("items", [0.0] * D, k=10).ids) == [0, 1, 2, 3, 4]
    assert built.vectors.build("items").mode == "unchanged"


def test_nan_and_wrong_dimension_refused_at_build_naming_the_row(platform: Platform) -> None:
    rows = _table(range(4)).to_pylist()
    rows[2]["embedding"] = [float("nan")] * D
    platform.lake.write("gold.items", pa.Table.from_pylist(rows, schema=_table(range(1)).schema))
    platform.vectors.apply([SPEC])
    with pytest.raises(InvalidArgument, match="id 2 has NaN"):
        platform.vectors.build("items")
    rows[2]["embedding"] = [1.0] * (D - 1)
    platform.lake.write(
        "gold.items", pa.Table.from_pylist(rows, schema=_table(range(1)).schema), mode="overwrite"
    )
    with pytest.raises(InvalidArgument, match="row id 2 has a 7-dimensional vector"):
        platform.vectors.build("items")


def test_another_teams_viewer_and_a_roleless_principal_cannot_query(built: Platform) -> None:
    viewer = built.security.create_principal("vera", team="default", role=Role.VIEWER)
    assert built.as_principal(viewer).vectors.query("items", [0.0] * D, k=1).ids
    with pytest.raises(PermissionDenied):
        built.as_principal(viewer).vectors.build("items")
    other = built.security.create_principal("otto", team="other", role=Role.VIEWER)
    with pytest.raises(PermissionDenied, match="needs 'read' on team 'default'"):
        built.as_principal(other).vectors.query("items", [0.0] * D, k=1)
    built.security.create_principal("nora", team="default", role=Role.VIEWER)
    nobody = built.security.revoke_role("nora", team="default")
    with pytest.raises(PermissionDenied):
        built.as_principal(nobody).vectors.query("items", id=1, k=1)
    denied = built.audit.list_records(action="vectors.*", outcome="denied").items
    assert {(r.principal, r.action) for r in denied} == {
        ("vera", "vectors.build"),
        ("otto", "vectors.query"),
        ("nora", "vectors.query"),
    }
    assert all(r.asset == "vector_index:items" and r.team == "default" for r in denied)


def test_builds_are_audited(built: Platform) -> None:
    ok = built.audit.list_records(action="vectors.*", outcome="ok").items
    assert [r.action for r in ok] == ["vectors.build", "vectors.apply"]
    assert ok[0].details["mode"] == "build"


def test_reopened_platform_loads_the_saved_index(built: Platform) -> None:
    home = built.settings.project_dir
    again = Platform.open(home)
    try:
        assert again.vectors.query("items", id=7, k=3).table_version == 0
    finally:
        again.close()


def test_a_build_by_another_platform_is_picked_up_by_queries(built: Platform) -> None:
    assert built.vectors.query("items", id=1, k=1).table_version == 0
    other = Platform.open(built.settings.project_dir)
    try:
        other.lake.write("gold.items", _table(range(300, 301), seed=3))
        other.vectors.build("items")
    finally:
        other.close()
    time.sleep(built.settings.vectors.recheck_seconds)  # how long a query trusts its cache
    res = built.vectors.query("items", id=300, k=1)
    assert res.table_version == 1 and res.matched == 300


def test_every_query_asks_the_catalog_with_recheck_zero(project_dir: Path) -> None:
    p = Platform.open(project_dir, vectors={"recheck_seconds": 0})
    try:
        p.lake.write("gold.items", _table(range(300)))
        p.vectors.apply([SPEC])
        p.vectors.build("items")
        assert p.vectors.query("items", id=1, k=1).table_version == 0
        other = Platform.open(project_dir)
        try:
            other.lake.write("gold.items", _table(range(300, 301), seed=3))
            other.vectors.build("items")
        finally:
            other.close()
        assert p.vectors.query("items", id=300, k=1).table_version == 1
    finally:
        p.close()


def test_another_team_cannot_redefine_an_index_onto_its_own_table(built: Platform) -> None:
    editor = built.security.create_principal("eve", team="other", role=Role.EDITOR)
    as_eve = built.as_principal(editor)
    as_eve.lake.write("gold.eve_items", _table(range(5)), owner="other")
    hijack = {**SPEC.model_dump(), "table": "gold.eve_items"}
    with pytest.raises(PermissionDenied, match="needs 'write' on team 'default'"):
        as_eve.vectors.apply([hijack])
    assert built.vectors.get("items").spec.table == "gold.items"


def test_huge_but_finite_query_vectors_are_accepted(built: Platform) -> None:
    # the finiteness check's dot product overflows here: the element-wise check decides
    assert len(built.vectors.query("items", [3e38] * D, k=2).ids) == 2
    with pytest.raises(InvalidArgument, match="NaN or infinite"):
        built.vectors.query("items", [3e38] * (D - 1) + [float("inf")], k=2)


def test_aquery_answers_hot_unfiltered_queries_on_the_loop_and_the_rest_in_a_thread(
    built: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from shipyard.vectors import service as vector_service

    threads: list[str] = []
    query = vector_service.VectorService.query

    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return query(self, *args, **kwargs)

    monkeypatch.setattr(vector_service.VectorService, "query", traced)
    monkeypatch.setattr(built.settings.vectors, "recheck_seconds", 60.0)
    otto = built.as_principal(built.security.create_principal("otto", team="other"))

    async def calls() -> list[Any]:
        v = [0.0] * D
        return [
            await built.vectors.aquery("items", v, k=3),  # cold: loads, in a thread
            await built.vectors.aquery("items", v, k=3),  # hot: on the loop
            await built.vectors.aquery("items", id=4, k=3),  # hot, by id: on the loop
            await built.vectors.aquery("items", v, k=3, filter={"color": "red"}),  # thread
            await built.vectors.aquery("items", v, k=101),  # a wide beam: thread
        ]

    loop = threading.current_thread().name
    got = asyncio.run(calls())
    assert [t == loop for t in threads] == [False, True, True, False, False]
    assert got[1] == built.vectors.query("items", [0.0] * D, k=3)
    assert len(got[4].ids) == 101 and all(i % 3 == 0 for i in got[3].ids)
    threads.clear()
    with pytest.raises(PermissionDenied):  # another team: refused, audited, off the loop
        asyncio.run(otto.vectors.aquery("items", [0.0] * D, k=3))
    assert threads and threads[0] != loop
    denied = built.audit.list_records(action="vectors.query", outcome="denied").items
    assert [r.principal for r in denied] == ["otto"]
