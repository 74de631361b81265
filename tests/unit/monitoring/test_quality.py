"""Data quality of lake tables over time, and feature freshness per view."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.lake.models import Expectation, TableDefinition
from shipyard.platform import Platform


def test_snapshots_track_rows_nulls_schema_and_expectations(platform: Platform) -> None:
    platform.lake.write(
        "bronze.orders", pa.table({"id": [1, 2, 3, 4], "amount": [1.0, None, float("nan"), 4.0]})
    )
    platform.lake.define(
        TableDefinition(
            name="silver.orders",
            sql="SELECT id, amount FROM bronze.orders",
            expectations=[Expectation.not_null("amount")],
        )
    )
    platform.lake.refresh("silver.orders")
    first = platform.monitoring.check_table_quality("silver.orders")
    assert first.rows == 4 and first.schema_change is None
    assert first.null_rates["amount"] == pytest.approx(0.5) and first.null_rates["id"] == 0
    assert first.freshness_seconds is not None and first.freshness_seconds >= 0
    [rate] = first.expectations
    # SQL NOT NULL lets NaN through; the null rate counts it
    assert (rate.passed, rate.failed) == (3, 1) and rate.pass_rate == pytest.approx(0.75)

    platform.lake.write(
        "bronze.orders",
        pa.table({"id": [5], "amount": [5.0], "note": ["x"]}),
        schema_evolution=True,
    )
    snap = platform.monitoring.check_table_quality("bronze.orders")
    assert snap.schema_change is None and snap.rows == 5  # the first of bronze.orders
    platform.lake.write("bronze.orders", pa.table({"id": [6], "amount": [6.0], "note": [None]}))
    again = platform.monitoring.check_table_quality("bronze.orders")
    assert again.rows == 6 and again.schema_change is not None and again.schema_change.empty
    assert [s.id for s in platform.monitoring.table_quality("bronze.orders")] == [again.id, snap.id]


def test_a_schema_change_between_snapshots_is_reported(platform: Platform) -> None:
    platform.lake.write("bronze.events", pa.table({"a": [1], "b": ["x"]}))
    platform.monitoring.check_table_quality("bronze.events")
    platform.lake.write(
        "bronze.events", pa.table({"a": [1], "b": ["y"], "c": [2.0]}), schema_evolution=True
    )
    snap = platform.monitoring.check_table_quality("bronze.events")
    assert snap.schema_change is not None and list(snap.schema_change.added) == ["c"]


def test_quality_refusals(platform: Platform) -> None:
    with pytest.raises(NotFound):
        platform.monitoring.check_table_quality("gold.nope")
    platform.lake.write("gold.t", pa.table({"a": [1]}))
    with pytest.raises(InvalidArgument):
        platform.monitoring.table_quality("gold.t", limit=0)
    platform.security.create_principal("eve", role="editor", team="other")
    eve = platform.as_principal(platform.security.get_principal("eve"))
    with pytest.raises((PermissionDenied, NotFound)):
        eve.monitoring.check_table_quality("gold.t")
    assert platform.monitoring.table_quality("gold.t") == []


def test_feature_freshness_per_view(platform: Platform) -> None:
    from tests.contract.serving.suite import build_served_model

    build_served_model(platform, n=50)
    found = {f.view: f for f in platform.monitoring.feature_freshness()}
    assert found, "the served model's feature views"
    for f in found.values():
        assert f.watermark is not None and f.lag_seconds is not None and f.lag_seconds >= 0
    text = platform.monitoring.metrics_text()
    assert "shipyard_feature_freshness_seconds{view=" in text
