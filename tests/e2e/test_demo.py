"""The golden path at small size: every layer, end to end, over real HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from shipyard.cli.main import run
from shipyard.demo.golden_path import DemoResult, run_demo
from shipyard.platform import Platform
from shipyard.step_actions import release

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


def test_the_runs_job_asset_has_lineage_to_what_its_steps_wrote(demo: DemoResult) -> None:
    with Platform.open(demo.project) as p:
        down = p.catalog.lineage(f"job:{demo.pipeline_run}", direction="downstream", depth=1)
    wrote = {(e.target.kind, e.target.name) for e in down.edges}
    for expected in [
        ("table", "bronze.customers"),
        ("table", "bronze.orders"),
        ("table", "bronze.labels"),
        ("table", "silver.orders"),
        ("table", "silver.customers"),
        ("table", "gold.customer_daily"),
        ("feature_view", "customer_daily"),
        ("training_set", "churn_train"),
        ("run", demo.run_id),
        ("model", "churn"),
        ("deployment", "churn"),
    ]:
        assert expected in wrote, f"{expected} missing from the run's lineage: {sorted(wrote)}"


def test_a_daily_schedule_and_a_retrain_trigger_are_left_in_place(
    demo: DemoResult, capsys: pytest.CaptureFixture[str]
) -> None:
    with Platform.open(demo.project) as p:
        churn = p.pipelines.get("churn").spec
        retrain = p.pipelines.get("churn_retrain").spec
    assert churn["schedule"]["cron"] == "0 3 * * *"
    assert churn["schedule"]["timezone"] == "Europe/Paris"
    assert retrain["triggers"]["tables"] == ["gold.customer_daily"]
    assert [s["name"] for s in retrain["steps"]] == [
        "training_set", "train", "register", "promote", "approve", "materialize",
    ]  # fmt: skip
    text = demo.output  # type: ignore[attr-defined]
    assert "schedule: churn daily, cron '0 3 * * *' Europe/Paris" in text
    assert "trigger: churn_retrain" in text
    capsys.readouterr()
    assert run(["-C", str(demo.project), "pipelines", "show", "churn"]) == 0
    shown = capsys.readouterr().out
    assert "schedule: 0 3 * * * Europe/Paris catchup=run-once" in shown
    assert "its runs start: churn_retrain (on gold.customer_daily)" in shown


def _snapshot(p: Platform) -> dict[str, object]:
    """What a rerun must not duplicate: rows and versions, training sets, tracked
    runs, model versions, promotion requests, deployment versions."""
    tables = [
        "bronze.customers", "bronze.orders", "bronze.labels", "silver.orders",
        "silver.customers", "gold.customer_daily", "datasets.churn_train",
    ]  # fmt: skip
    return {
        **{t: (p.lake.get_table(t).num_rows, p.lake.get_table(t).version) for t in tables},
        "training_set": p.catalog.get_asset("training_set:churn_train").version,
        "runs": len(p.tracking.search_runs("churn").items),
        "models": [v.version for v in p.registry.list_model_versions("churn").items],
        "promotions": len(p.registry.list_promotions(name="churn").items),
        "deployment": p.serving.get_deployment("churn").version,
        "champion": p.registry.resolve("models:/churn@champion").version,
    }


def _drain(p: Platform) -> None:
    p.worker(poll_interval=0.005).run(idle_exit=0.3)


def test_a_rerun_writes_nothing_new_and_its_gold_commit_retrains_once(demo: DemoResult) -> None:
    files = demo.files
    assert files is not None
    try:
        with Platform.open(demo.project) as p:  # its shipyard.yaml allows the demo's steps
            before = _snapshot(p)
            scheduler = p.pipelines.scheduler()
            assert scheduler.tick() == []  # first sight: nothing from before fires
            again = p.pipelines.run("churn")
            _drain(p)
            assert p.pipelines.get_run(again.id).state == "succeeded"
            assert _snapshot(p) == before
            assert scheduler.tick() == []  # nothing committed: no retrain
            down = p.catalog.lineage(again.asset, direction="downstream", depth=1)
            wrote = {e.target.name for e in down.edges}
            assert not wrote & {"bronze.orders", "silver.orders", "churn_train"}, wrote

            # A new day's orders dropped in raw/: the next run ingests that file only,
            # its own gold commit starts exactly one churn_retrain run, which writes no
            # table and so starts nothing more.
            new_orders = files.orders.with_name("orders-new.csv")
            at = (datetime.now(UTC) - timedelta(hours=12)).isoformat()
            new_orders.write_text(
                f"order_id,customer_id,order_ts,amount,channel\n99000001,1,{at},42.0,web\n"
            )
            third = p.pipelines.run("churn")
            _drain(p)
            assert p.pipelines.get_run(third.id).state == "succeeded"
            after = _snapshot(p)
            assert after["bronze.orders"][0] == before["bronze.orders"][0] + 1  # type: ignore[index]
            assert after["gold.customer_daily"][1] > before["gold.customer_daily"][1]  # type: ignore[index]
            started = scheduler.tick()
            retrains = [r for r in started if p.pipelines.get_run(r).pipeline == "churn_retrain"]
            assert len(retrains) == 1
            _drain(p)
            retrained = p.pipelines.get_run(retrains[0])
            assert retrained.state == "succeeded" and retrained.trigger == "table"
            assert scheduler.tick() == []  # its own run committed no table: no loop
            # the churn run already trained on the new gold: the retrain reused its model
            assert _snapshot(p) == after
            assert after["models"] == [2, 1] and after["champion"] == 2
    finally:
        release(str(demo.project))
