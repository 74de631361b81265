"""The golden path at small size: every layer, end to end, over real HTTP."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from shipyard.demo.golden_path import DemoResult, run_demo
from shipyard.platform import Platform

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    out = io.StringIO()
    project = tmp_path_factory.mktemp("demo") / "project"
    result = run_demo(project, customers=600, requests=40, console=Console(file=out, width=120))
    result.output = out.getvalue()  # type: ignore[attr-defined]
    return result


def test_rows_per_layer(demo: DemoResult) -> None:
    files = demo.files
    assert files is not None
    assert demo.rows["bronze.customers"] == files.n_customers
    assert demo.rows["bronze.orders"] == files.bronze_orders
    assert demo.rows["bronze.labels"] == files.n_labels
    assert demo.rows["silver.orders"] == files.n_orders
    assert demo.rows["silver.customers"] == files.n_customers
    assert demo.rows["gold.customer_daily"] > files.n_customers * 60
    assert demo.rows["datasets.churn_train"] == files.n_labels


def test_quarantine_counts(demo: DemoResult) -> None:
    files = demo.files
    assert files is not None
    assert demo.quarantined["bronze.orders"] == files.n_malformed
    assert demo.quarantined["silver.orders"] == files.n_invalid


def test_model_has_real_signal(demo: DemoResult) -> None:
    assert demo.auc > 0.7


def test_http_prediction_equals_in_process(demo: DemoResult) -> None:
    assert len(demo.latencies_ms) == 40
    assert demo.http_vs_inprocess_max_diff < 1e-9
    # Served from fresh online features, not from nulls.
    assert set(demo.feature_statuses) == {"PRESENT"}


def test_lineage_leads_from_model_to_bronze(demo: DemoResult) -> None:
    with Platform.open(demo.project) as p:
        graph = p.catalog.lineage("model:churn", depth=12)
    names = {(n.kind, n.name) for n in graph.nodes}
    for expected in [
        ("run", demo.run_id),
        ("training_set", "churn_train"),
        ("feature_view", "customer_daily"),
        ("table", "gold.customer_daily"),
        ("table", "silver.orders"),
        ("table", "silver.customers"),
        ("table", "bronze.orders"),
        ("table", "bronze.customers"),
    ]:
        assert expected in names, f"{expected} missing from lineage: {sorted(names)}"


def test_summary_printed(demo: DemoResult) -> None:
    text = demo.output  # type: ignore[attr-defined]
    assert "AUC" in text and "p50" in text and "shipyard catalog lineage model:churn" in text
    assert demo.wall_seconds < 120


def test_project_left_to_explore(demo: DemoResult) -> None:
    assert (Path(demo.project) / ".shipyard" / "catalog.db").exists()


def test_the_golden_path_ran_as_a_pipeline(demo: DemoResult) -> None:
    with Platform.open(demo.project) as p:
        run = p.pipelines.get_run(demo.pipeline_run)
        runs = p.pipelines.list_runs("churn").items
        job = p.catalog.get_asset(run.asset)
        graph = p.catalog.lineage(run.asset, depth=2)
        logs = p.pipelines.logs(run.id)
    assert [r.id for r in runs] == [run.id] and run.state == "succeeded"
    assert list(run.steps) == [
        "ingest", "curate", "training_set", "train", "register", "promote", "approve",
        "materialize", "deploy",
    ]  # fmt: skip
    assert {s["state"] for s in run.steps.values()} == {"succeeded"}
    assert job.kind == "job" and set(logs) == set(run.steps)
    assert ("pipeline", "churn") in {(n.kind, n.name) for n in graph.nodes}
    text = demo.output  # type: ignore[attr-defined]
    assert f"pipeline run {run.id}: succeeded, 9/9 steps" in text
