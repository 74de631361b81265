"""apply/plan: versioned catalog assets, breaking changes refused, all or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.features import Entity, Feature, FeatureService, FeatureView
from shipyard.platform import Platform
from tests.unit.features.helpers import assert_online_reads_follow_other_processes, day, write_table


def _view(**over: object) -> FeatureView:
    kw: dict[str, object] = dict(
        name="cd",
        entities=["customer"],
        source="gold.cd",
        timestamp_field="event_ts",
        features=[Feature("a", "float64"), Feature("b", "int64")],
    )
    kw.update(over)
    return FeatureView(**kw)  # type: ignore[arg-type]


@pytest.fixture
def base(platform: Platform) -> list[object]:
    write_table(
        platform,
        "gold.cd",
        pd.DataFrame({"customer_id": [1], "event_ts": [day(1)], "a": [1.0], "b": [2], "c": ["x"]}),
    )
    objs: list[object] = [
        Entity(name="customer", join_keys=["customer_id"]),
        _view(),
        FeatureService(name="svc", features=["cd:a"]),
    ]
    platform.features.apply(objs)
    return objs


def test_apply_creates_versioned_assets_with_lineage(
    platform: Platform, base: list[object]
) -> None:
    asset = platform.catalog.get_asset("feature_view:cd")
    assert asset.version == 1 and asset.properties["spec"]["source"] == "gold.cd"
    again = platform.features.apply(base)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert platform.catalog.get_asset("feature_view:cd").version == 1
    platform.features.apply([_view(description="now documented")])
    assert platform.catalog.get_asset("feature_view:cd").version == 2
    graph = platform.catalog.lineage("feature_service:svc", direction="upstream")
    assert {n.kind for n in graph.nodes} >= {"feature_view", "entity"}
    audit = platform.audit.list_records(action="features.apply").items
    assert len(audit) == 2 and audit[0].outcome == "ok"


def test_plan_shows_create_update_delete(platform: Platform, base: list[object]) -> None:
    new_view = _view(
        features=[Feature("a", "float64"), Feature("b", "int64"), Feature("c", "string")]
    )
    plan = platform.features.plan([base[0], new_view], prune=True)
    actions = {(c.kind, c.name): c.action for c in plan.changes}
    assert actions == {
        ("entity", "customer"): "unchanged",
        ("feature_view", "cd"): "update",
        ("feature_service", "svc"): "delete",
    }
    update = next(c for c in plan.changes if c.action == "update")
    assert any("features" in d for d in update.diff)
    assert not plan.breaking


def test_type_change_is_refused_unless_forced(platform: Platform, base: list[object]) -> None:
    changed = _view(features=[Feature("a", "int64"), Feature("b", "int64")])
    with pytest.raises(
        Conflict, match="type of 'a' from float64 to int64, used by feature_service:svc"
    ):
        platform.features.apply([changed])
    assert platform.catalog.get_asset("feature_view:cd").version == 1
    platform.features.apply([changed], force=True)
    assert platform.catalog.get_asset("feature_view:cd").version == 2


def test_removing_a_used_feature_or_view_is_refused(platform: Platform, base: list[object]) -> None:
    with pytest.raises(Conflict, match="removes feature 'a', used by feature_service:svc"):
        platform.features.apply([_view(features=[Feature("b", "int64")])])
    # removing an unused feature is fine
    platform.features.apply([_view(features=[Feature("a", "float64")])])
    with pytest.raises(Conflict, match="deletes the view, used by feature_service:svc"):
        platform.features.apply([base[0], base[2]], prune=True)
    # deleting the view together with its only reader is not breaking
    plan = platform.features.apply([base[0]], prune=True)
    assert {c.name for c in plan.changes if c.action == "delete"} == {"cd", "svc"}


def test_apply_is_all_or_nothing(platform: Platform, base: list[object]) -> None:
    bad_view = _view(name="broken", features=[Feature("nope", "float64")])
    with pytest.raises(InvalidArgument, match=r"no column.*nope"):
        platform.features.apply([FeatureService(name="svc2", features=["cd:b"]), bad_view])
    names = {d.name for d in platform.features.list_definitions().items}
    assert "svc2" not in names and "broken" not in names


def test_bad_definitions_are_refused(platform: Platform, base: list[object]) -> None:
    with pytest.raises(NotFound, match="did you mean 'a'"):
        platform.features.apply([FeatureService(name="s3", features=["cd:aa"])])
    with pytest.raises(InvalidArgument, match=r"entity 'custom'.*did you mean 'customer'"):
        platform.features.apply([_view(name="v2", entities=["custom"])])
    with pytest.raises(NotFound, match="no lake table"):
        platform.features.apply([_view(name="v3", source="gold.missing")])
    with pytest.raises(InvalidArgument, match="dtype"):
        Feature("x", "float128")
    with pytest.raises(InvalidArgument, match="declared twice"):
        platform.features.apply([base[0], base[0]])
    with pytest.raises(InvalidArgument, match=r"no column.*ts2"):
        platform.features.apply([_view(name="v4", timestamp_field="ts2")])


def test_changes_are_visible_to_other_readers_at_once(
    platform: Platform, base: list[object]
) -> None:
    p2 = Platform.open(platform.settings.project_dir)
    try:
        assert p2.features.get_definition("feature_service", "svc").features == ["cd:a"]
        platform.features.apply([FeatureService(name="svc", features=["cd:a", "cd:b"])])
        assert p2.features.get_definition("feature_service", "svc").features == ["cd:a", "cd:b"]
    finally:
        p2.close()


def test_online_reads_follow_another_process_apply_at_once(
    platform: Platform, customer_view: FeatureView
) -> None:
    assert_online_reads_follow_other_processes(platform)


def test_unrelated_catalog_writes_keep_the_cached_read_plan(
    platform: Platform, customer_view: FeatureView, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform.features.materialize(["customer_daily"])
    read = platform.features.get_online_features
    read(feature_service="churn", entity_rows=[{"customer_id": 1}])
    built: list[object] = []
    real = type(platform.features)._read_plan
    monkeypatch.setattr(
        type(platform.features),
        "_read_plan",
        lambda self, *a: built.append(a) or real(self, *a),
    )
    platform.catalog.register_asset("model:unrelated")
    for _ in range(3):
        read(feature_service="churn", entity_rows=[{"customer_id": 1}])
    assert built == []
    platform.features.apply([FeatureService(name="churn", features=["customer_daily:f1"])])
    assert set(read(feature_service="churn", entity_rows=[{"customer_id": 1}]).to_dict()) == {
        "customer_id",
        "f1",
    }
    assert len(built) == 1


def test_plan_previews_a_view_whose_source_is_not_built_yet(platform: Platform) -> None:
    """A fresh project (issue #12 item 9) plans before its lake is built; apply still refuses."""
    defs = [Entity(name="customer", join_keys=["customer_id"]), _view(source="gold.later")]
    plan = platform.features.plan(defs)
    view = next(c for c in plan.changes if c.kind == "feature_view")
    assert view.action == "create"
    assert view.diff == ["source table gold.later is not built yet"]
    with pytest.raises(NotFound, match="no lake table"):
        platform.features.apply(defs)
