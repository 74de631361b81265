"""Every list method pages with the caller's permissions inside the query.

A restricted caller following the tokens gets exactly the rows it may read: each
page full (but the last), no row twice, no row of another team, and a token
whenever more exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from shipyard._internal.clock import utcnow
from shipyard._internal.ids import new_id
from shipyard._internal.paging import Page
from shipyard.catalog.tables import assets
from shipyard.errors import InvalidArgument
from shipyard.platform import Platform

LIMIT = 3


def walk(fetch: Callable[..., Page[Any]], limit: int = LIMIT) -> list[list[Any]]:
    """Every page of ``fetch(limit=..., page_token=...)``; asserts each but the last is full."""
    pages: list[list[Any]] = []
    token = None
    while True:
        page = fetch(limit=limit, page_token=token)
        pages.append(list(page.items))
        token = page.next_page_token
        if token is None:
            break
        assert len(page.items) == limit, "a page with a next token must be full"
        assert len(pages) < 10_000
    return pages


def flat(pages: list[list[Any]]) -> list[Any]:
    return [x for p in pages for x in p]


@pytest.fixture
def viewer(platform: Platform) -> Platform:
    """A viewer of team ``a`` only (not of the default team)."""
    p = platform.security.create_principal("vic", role="viewer", team="a")
    return platform.as_principal(p)


def test_viewer_gets_exactly_its_30_of_10000_assets(platform: Platform, viewer: Platform) -> None:
    now = utcnow()
    readable = {f"bronze.t{i:05d}" for i in range(0, 10_000, 333)}  # 31 names spread out
    readable = set(sorted(readable)[:30])
    rows = [
        {
            "id": new_id(),
            "kind": "table",
            "name": f"bronze.t{i:05d}",
            "version": 1,
            "owner": "a" if f"bronze.t{i:05d}" in readable else f"team{i % 7}",
            "description": "",
            "properties": {},
            "created_by": "test",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(10_000)
    ]
    with platform.context.db.begin() as conn:
        conn.execute(assets.insert(), rows)
    started = time.perf_counter()
    pages = walk(viewer.catalog.search, limit=7)
    elapsed = time.perf_counter() - started
    names = [a.name for a in flat(pages)]
    assert names == sorted(readable)
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    assert elapsed < 5, f"five pages took {elapsed:.2f}s"
    # The admin sees all 10,000 in pages of the configured maximum.
    first = platform.catalog.search(limit=10**6)
    assert len(first.items) == platform.settings.paging.max_limit and first.next_page_token


def test_role_less_caller_is_still_refused(platform: Platform) -> None:
    nobody = platform.security.create_principal("nobody", role="viewer", team="x")
    p = platform.as_principal(nobody.model_copy(update={"roles": {}}))
    from shipyard.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        p.catalog.search()


def test_unknown_kind_is_still_reported(platform: Platform) -> None:
    with pytest.raises(InvalidArgument, match="kinds"):
        platform.catalog.search(kind="tabel")


def test_catalog_filters_and_versions_page(platform: Platform, viewer: Platform) -> None:
    for i in range(8):
        platform.catalog.register_asset(f"model:m{i}", owner="a" if i % 2 else "b", tags=["x"])
    got = flat(walk(lambda **kw: viewer.catalog.search("m", tag="x", **kw), limit=2))
    assert [a.name for a in got] == ["m1", "m3", "m5", "m7"]
    for v in range(7):
        platform.catalog.register_asset("model:m1", owner="a", description=f"v{v}")
    versions = flat(walk(lambda **kw: viewer.catalog.list_versions("model:m1", **kw)))
    assert [v.version for v in versions] == list(range(1, 9))


def test_registered_models_and_versions(platform: Platform, viewer: Platform) -> None:
    for i in range(14):
        platform.registry.create_registered_model(f"m{i:02d}", owner="a" if i % 2 else "b")
    got = flat(walk(viewer.registry.list_registered_models))
    assert [m.name for m in got] == [f"m{i:02d}" for i in range(1, 14, 2)]
    assert len(walk(viewer.registry.list_registered_models)) == 3


def test_experiments_and_runs(platform: Platform, viewer: Platform) -> None:
    mine = []
    for i in range(14):
        exp = platform.tracking.create_experiment(f"e{i:02d}", owner="a" if i % 2 else "b")
        if i % 2:
            mine.append(exp.id)
        with platform.tracking.start_run(experiment=exp.id, capture_source=False):
            pass
    got = flat(walk(viewer.tracking.list_experiments))
    assert [e.id for e in got] == mine
    runs = flat(walk(lambda **kw: viewer.tracking.search_runs(**kw)))
    assert sorted(r.experiment_id for r in runs) == sorted(mine)


def test_jobs(platform: Platform, viewer: Platform) -> None:
    for i in range(14):
        platform.jobs.submit("shipyard.pipelines.builtin:noop", team="a" if i % 2 else "b")
    got = flat(walk(viewer.jobs.list))
    assert len(got) == 7 and {j.team for j in got} == {"a"}


def test_topics(platform: Platform, viewer: Platform) -> None:
    for i in range(14):
        platform.events.create_topic(f"t{i:02d}", owner="a" if i % 2 else "b")
        platform.events.publish(f"t{i:02d}", [{"n": i}])  # the bus lists topics with records
    got = flat(walk(viewer.events.list_topics))
    assert [t.name for t in got] == [f"t{i:02d}" for i in range(1, 14, 2)]


def test_audit_and_tokens(platform: Platform) -> None:
    vic = platform.security.create_principal("vic", role="viewer", team="a")
    for i in range(7):
        platform.security.create_token(principal="vic", name=f"k{i}")
        platform.security.create_token(name=f"admin{i}")
    p = platform.as_principal(vic)
    tokens = flat(walk(p.security.list_tokens))
    assert sorted(t.name for t in tokens) == [f"k{i}" for i in range(7)]
    with pytest.raises(InvalidArgument):  # not a catalog token
        p.catalog.search(page_token=p.security.list_tokens(limit=2).next_page_token)
    records = flat(walk(platform.audit.list_records))
    assert len(records) == len({r.id for r in records}) >= 15


def test_malformed_tokens_are_invalid_argument_everywhere(platform: Platform) -> None:
    calls = [
        platform.catalog.search,
        platform.registry.list_registered_models,
        platform.registry.list_model_versions,
        platform.registry.list_promotions,
        platform.tracking.list_experiments,
        platform.tracking.search_runs,
        platform.lake.list_tables,
        platform.lake.list_definitions,
        platform.features.list_definitions,
        platform.serving.list_deployments,
        platform.events.list_topics,
        platform.jobs.list,
        platform.audit.list_records,
        platform.security.list_principals,
        platform.security.list_tokens,
    ]
    for call in calls:
        for bad in ("garbage", "eyJ2IjoxfQ"):
            with pytest.raises(InvalidArgument):
                call(page_token=bad)
        with pytest.raises(InvalidArgument):
            call(limit=0)


def _bulk_assets(platform: Platform, kind: str, names_owners: list[tuple[str, str]]) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "kind": kind,
            "name": name,
            "version": 1,
            "owner": owner,
            "description": "",
            "properties": {},
            "created_by": "test",
            "created_at": now,
            "updated_at": now,
        }
        for name, owner in names_owners
    ]
    with platform.context.db.begin() as conn:
        conn.execute(assets.insert(), rows)


def test_lake_tables_by_layer(platform: Platform, viewer: Platform) -> None:
    layers = ("bronze", "silver")
    _bulk_assets(
        platform,
        "table",
        [(f"{layers[i % 2]}.t{i:02d}", "a" if i % 3 else "b") for i in range(30)],
    )
    got = flat(walk(lambda **kw: viewer.lake.list_tables(layer="silver", **kw)))
    want = [f"silver.t{i:02d}" for i in range(30) if i % 2 and i % 3]
    assert [t.name for t in got] == want and len(want) == 10
    assert all(t.owner == "a" for t in got)


def test_model_versions_and_promotions(platform: Platform, viewer: Platform) -> None:
    from shipyard.registry.tables import model_versions, promotions

    now = utcnow()
    for i in range(6):
        platform.registry.create_registered_model(f"m{i}", owner="a" if i % 2 else "b")
    with platform.context.db.begin() as conn:
        cols = {c.name for c in model_versions.c}
        base: dict[str, Any] = {c.name: None for c in model_versions.c if c.nullable}
        rows = []
        for i in range(6):
            for v in range(1, 4):
                row = {
                    **base,
                    "name": f"m{i}",
                    "version": v,
                    "source": "x",
                    "storage_location": "x",
                    "status": "READY",
                    "metrics": {},
                    "tags": {},
                    "created_by": "t",
                    "created_at": now,
                    "updated_at": now,
                    "description": "",
                }
                rows.append({k: row.get(k) for k in cols if k in row})
        conn.execute(model_versions.insert(), rows)
        conn.execute(
            promotions.insert(),
            [
                {
                    "id": new_id(),
                    "name": f"m{i}",
                    "alias": "champion",
                    "version": 1,
                    "status": "pending",
                    "requested_by": "t",
                    "requested_at": now,
                }
                for i in range(6)
                for _ in range(2)
            ],
        )
    got = flat(walk(lambda **kw: viewer.registry.list_model_versions(None, **kw)))
    assert [(v.name, v.version) for v in got] == [
        (f"m{i}", v) for i in (1, 3, 5) for v in (3, 2, 1)
    ]
    got = flat(walk(viewer.registry.list_promotions))
    assert len(got) == 6 and {p.name for p in got} == {"m1", "m3", "m5"}


def test_lake_definitions_and_features(platform: Platform, viewer: Platform) -> None:
    from shipyard.lake.tables import lake_definitions

    now = utcnow()
    with platform.context.db.begin() as conn:
        conn.execute(
            lake_definitions.insert(),
            [
                {
                    "name": f"silver.d{i:02d}",
                    "owner": "a" if i % 2 else "b",
                    "definition": {"name": f"silver.d{i:02d}", "sql": "select 1 as x"},
                    "created_by": "t",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(14)
            ],
        )
    got = flat(walk(viewer.lake.list_definitions))
    assert [d.name for d in got] == [f"silver.d{i:02d}" for i in range(1, 14, 2)]


def test_deployments(platform: Platform, viewer: Platform) -> None:
    spec = {"spec": {"variants": [{"name": "a", "model": "m/1", "weight": 100}]}}
    _bulk_assets(platform, "deployment", [(f"d{i:02d}", "a" if i % 2 else "b") for i in range(14)])
    with platform.context.db.begin() as conn:
        conn.execute(assets.update().where(assets.c.kind == "deployment").values(properties=spec))
    got = flat(walk(viewer.serving.list_deployments))
    assert [d.name for d in got] == [f"d{i:02d}" for i in range(1, 14, 2)]


def test_feature_definitions(platform: Platform, viewer: Platform) -> None:
    from shipyard.features import Entity

    platform.features.apply(
        [Entity(name=f"e{i:02d}", join_keys=["id"], owner="a" if i % 2 else "b") for i in range(14)]
    )
    got = flat(walk(viewer.features.list_definitions))
    assert [d.name for d in got] == [f"e{i:02d}" for i in range(1, 14, 2)]


def test_logged_models_and_principals(platform: Platform) -> None:
    exp = platform.tracking.create_experiment("lm", owner="a")
    for i in range(7):
        platform.tracking.create_logged_model(exp.id, name=f"lm{i}")
    got = flat(walk(lambda **kw: platform.tracking.search_logged_models([exp.id], **kw)))
    assert len(got) == 7 and len({m.id for m in got}) == 7
    for i in range(6):
        platform.security.create_principal(f"u{i}")
    names = [p.name for p in flat(walk(platform.security.list_principals))]
    assert names == sorted(names) and {f"u{i}" for i in range(6)} <= set(names)
