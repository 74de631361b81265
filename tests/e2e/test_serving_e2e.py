"""Serving end to end on the real lake, feature store, tracking and registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.contract.serving.suite import FEATURES, N, build_served_model


@pytest.fixture
def real(project_dir: Path) -> Iterator[tuple[Platform, pd.DataFrame]]:
    p = Platform.open(project_dir)
    frame = build_served_model(p)
    yield p, frame
    p.close()


def test_predict_with_real_registry_and_online_store(real: tuple[Platform, Any]) -> None:
    p, frame = real
    dep = p.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn@live")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    resp = p.serving.predict("churn", [{"customer_id": 7}, {"customer_id": 8}])
    local = p.registry.load_model("models:/churn@live").predict(frame.loc[[7, 8], FEATURES])
    assert resp.predictions == pytest.approx(list(local))
    assert resp.model_version == "churn/1" and resp.feature_status[0]["f0"] == "PRESENT"
    assert p.serving.runtime.get("churn").live[0].fast is not None  # the lean sklearn path
    graph = p.catalog.lineage(f"deployment:churn@{dep.version}", direction="upstream", depth=3)
    assert any(str(e.source) == "model:churn@1" and e.operation == "deploy" for e in graph.edges)
    # the alias moves: the refresh swaps in version 2 without a restart
    p.registry.set_alias("churn", "live", 2)
    assert p.serving.runtime.refresh() == ["churn"]
    assert p.serving.predict("churn", [{"customer_id": 7}]).model_version == "churn/2"


def test_unknown_entity_is_served_with_status_or_refused(real: tuple[Platform, Any]) -> None:
    p, _ = real
    p.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
        require_features=True,
    )
    from shipyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="no online features"):
        p.serving.predict("churn", [{"customer_id": 10_000}])


def test_missing_model_version_is_refused(real: tuple[Platform, Any]) -> None:
    p, _ = real
    from shipyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="churn/9"):
        p.serving.create_deployment("churn", variants=[Variant(name="a", model="churn/9")])


def test_batch_scoring_is_chunked_idempotent_and_traced(real: tuple[Platform, Any]) -> None:
    p, frame = real
    first = p.serving.score_table(
        "churn/1", "gold.customer_features", "datasets.churn_scores", chunk_rows=64
    )
    assert (first.rows, first.chunks_written, first.chunks_skipped) == (N, 5, 0)
    scores = p.lake.read("datasets.churn_scores").to_pandas().sort_values("customer_id")
    local = p.registry.load_model("models:/churn/1").predict(frame[FEATURES])
    assert np.allclose(scores["prediction"].to_numpy(), local)
    assert set(scores.columns) >= {"customer_id", "event_ts", "prediction", "model_version"}
    again = p.serving.score_table(
        "churn/1", "gold.customer_features", "datasets.churn_scores", chunk_rows=64
    )
    assert (again.chunks_written, again.chunks_skipped) == (0, 5)
    assert p.lake.read("datasets.churn_scores").num_rows == N
    graph = p.catalog.lineage("table:datasets.churn_scores", direction="upstream", depth=1)
    sources = {str(e.source) for e in graph.edges}
    assert f"table:gold.customer_features@{first.source_version}" in sources
    assert "model:churn@1" in sources
    p.lake.write("datasets.ids", pa.table({"customer_id": [1, 2]}))
    with pytest.raises(InvalidArgument, match="input columns"):
        p.serving.score_table("churn/1", "datasets.ids", "datasets.x")


def f0_times_amount(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"f0_x_amount": df["f0"] * df["amount"]})


def test_on_demand_features_see_request_fields(real: tuple[Platform, Any]) -> None:
    from shipyard.features import Feature, FeatureService, OnDemandFeatureView

    p, frame = real
    od = OnDemandFeatureView(
        name="scaled",
        inputs=["customer_features:f0", "amount"],
        request_schema={"amount": "float64"},
        features=[Feature("f0_x_amount", "float64")],
        function=f0_times_amount,
    )
    view = p.features.get_definition("feature_view", "customer_features")
    p.features.apply([od, FeatureService(name="churn_od", features=[view, od])])
    p.serving.create_deployment(
        "od",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn_od",
        entity_keys=["customer_id"],
        request_fields={"amount": "float64"},
    )
    resp = p.serving.predict("od", [{"customer_id": 5, "amount": 2.0}])
    local = p.registry.load_model("models:/churn/1").predict(frame.loc[[5], FEATURES])
    assert resp.predictions == pytest.approx(list(local))
    p.serving.flush_prediction_log()
    logged = p.lake.sql("SELECT features FROM datasets.inference_log WHERE deployment = 'od'")
    features = json.loads(logged.column("features")[0].as_py())
    assert features["f0_x_amount"] == pytest.approx(frame.f0[5] * 2.0)
    assert features["amount"] == 2.0
