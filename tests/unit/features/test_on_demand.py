"""On-demand views: one function, the same values at training time and at serving time."""

from __future__ import annotations

import pandas as pd
import pytest

from shipyard.errors import InvalidArgument
from shipyard.features import Feature, FeatureService, FeatureView, OnDemandFeatureView
from shipyard.features.ondemand import function_spec, load_function
from shipyard.platform import Platform
from tests.unit.features.helpers import day


def spend_ratio(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"ratio": df["amount"] / (df["f0"] + 1.0), "big": df["amount"] > 100})


@pytest.fixture
def odfv(platform: Platform, customer_view: FeatureView) -> OnDemandFeatureView:
    view = OnDemandFeatureView(
        name="spend",
        inputs=["customer_daily:f0", "amount"],
        features=[Feature("ratio", "float64"), Feature("big", "bool")],
        function=spend_ratio,
        request_schema={"amount": "float64"},
    )
    svc = FeatureService(name="scoring", features=["customer_daily:f1", view])
    platform.features.apply([view, svc])
    return view


def test_training_and_serving_give_the_same_values(
    platform: Platform, odfv: OnDemandFeatureView
) -> None:
    platform.features.materialize()
    ent = pd.DataFrame(
        {"customer_id": [1, 2, 3], "event_timestamp": [day(9)] * 3, "amount": [50.0, 500.0, 7.0]}
    )
    offline = platform.features.get_historical_features(ent, feature_service="scoring")
    assert list(offline.columns) == [
        "customer_id",
        "event_timestamp",
        "amount",
        "f1",
        "ratio",
        "big",
    ]
    rows = [
        {"customer_id": c, "amount": a}
        for c, a in zip(ent["customer_id"], ent["amount"], strict=True)
    ]
    online = platform.features.get_online_features(feature_service="scoring", entity_rows=rows)
    got = online.to_dict()
    assert "f0" not in got  # an input that was not asked for stays hidden
    assert got["ratio"] == pytest.approx(offline["ratio"].tolist())
    assert got["big"] == offline["big"].tolist() == [False, True, False]
    assert online.statuses["ratio"] == ["PRESENT"] * 3


def test_the_applied_code_is_what_runs(platform: Platform, odfv: OnDemandFeatureView) -> None:
    stored = platform.catalog.get_asset("on_demand_feature_view:spend").properties["spec"]
    assert "def spend_ratio" in stored["function"]["source"]
    other = Platform.open(platform.settings.project_dir)
    try:
        loaded = other.features.get_definition("on_demand_feature_view", "spend")
        out = loaded.function(pd.DataFrame({"amount": [10.0], "f0": [4.0]}))
        assert out["ratio"].tolist() == [2.0]
    finally:
        other.close()


def test_source_is_used_when_the_module_is_gone() -> None:
    spec = function_spec(spend_ratio)
    spec["module"] = "no_such_module_anywhere"
    fn = load_function(spec)
    assert fn(pd.DataFrame({"amount": [3.0], "f0": [2.0]}))["ratio"].tolist() == [1.0]


def test_missing_request_field_and_bad_output(
    platform: Platform, odfv: OnDemandFeatureView
) -> None:
    platform.features.materialize()
    with pytest.raises(InvalidArgument, match="request field 'amount'"):
        platform.features.get_online_features(
            feature_service="scoring", entity_rows=[{"customer_id": 1}]
        )
    ent = pd.DataFrame({"customer_id": [1], "event_timestamp": [day(9)]})
    with pytest.raises(InvalidArgument, match="amount"):
        platform.features.get_historical_features(ent, feature_service="scoring")
