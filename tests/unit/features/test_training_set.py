"""Training sets: a versioned datasets.<name> Delta table with exact lineage."""

from __future__ import annotations

import pandas as pd

from shipyard.features import FeatureView
from shipyard.platform import Platform
from tests.unit.features.conftest import customer_source
from tests.unit.features.helpers import day, write_table


def test_training_set_is_saved_versioned_with_lineage(
    platform: Platform, customer_view: FeatureView
) -> None:
    ent = pd.DataFrame({"customer_id": [1, 2, 3, 1], "event_timestamp": [day(2.5)] * 3 + [day(9)]})
    ts = platform.features.create_training_set("churn_train", ent, feature_service="churn")
    assert (ts.name, ts.table, ts.version, ts.num_rows) == (
        "churn_train",
        "datasets.churn_train",
        1,
        4,
    )
    assert ts.ref == "training_set:churn_train@1"
    df = ts.to_pandas()
    expected = platform.features.get_historical_features(ent, feature_service="churn")
    pd.testing.assert_frame_equal(df, expected)
    assert ts.sources == {"gold.customer_daily": 0}

    write_table(
        platform, "gold.customer_daily", customer_source([2.2], [1], base=50), mode="append"
    )
    ts2 = platform.features.create_training_set("churn_train", ent, feature_service="churn")
    assert (ts2.version, ts2.table_version, ts2.sources) == (2, 1, {"gold.customer_daily": 1})
    assert ts2.to_pandas()["f0"].tolist() != df["f0"].tolist()
    # the first version is still there, bit for bit
    old = platform.features.get_training_set("churn_train", version=1)
    pd.testing.assert_frame_equal(old.to_pandas(), df)
    # and it can be rebuilt from the inputs it recorded, though the source moved on
    assert platform.features.rebuild_training_set("churn_train", 1).equals(
        platform.lake.read("datasets.churn_train", version=0)
    )
    assert platform.features.rebuild_training_set("churn_train").equals(
        platform.lake.read("datasets.churn_train", version=1)
    )

    graph = platform.catalog.lineage("training_set:churn_train", direction="upstream")
    kinds = {(n.kind, n.name) for n in graph.nodes}
    assert ("feature_view", "customer_daily") in kinds
    edges = {(str(e.source), str(e.target)) for e in graph.edges}
    assert ("table:gold.customer_daily@0", "training_set:churn_train@1") in edges
    assert ("table:gold.customer_daily@1", "training_set:churn_train@2") in edges
    down = platform.catalog.lineage("training_set:churn_train", direction="downstream")
    assert "table:datasets.churn_train" in {f"{n.kind}:{n.name}" for n in down.nodes}
    asset = platform.catalog.get_asset("training_set:churn_train")
    assert asset.properties["features"] == [f.name for f in customer_view.features]
