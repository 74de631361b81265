from __future__ import annotations

import json

import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from shipyard.tracking.service import input_ref


def test_log_input_records_exact_version_and_edge(platform: Platform) -> None:
    platform.catalog.register_asset("table:gold.customer_daily@4")
    platform.catalog.register_asset("training_set:churn_train")
    platform.catalog.register_asset("training_set:churn_train")  # now at version 2
    with platform.tracking.start_run(experiment="churn") as run:
        got = run.log_input("training_set:churn_train")  # no version: the current one
        run.log_input("table:gold.customer_daily@4", context="eval")
        with pytest.raises(NotFound):
            run.log_input("training_set:churn_train@9")
        with pytest.raises(NotFound):
            run.log_input("table:nope")
    assert got.ref == "training_set:churn_train@2"
    info = platform.tracking.get_run(run.id)
    assert sorted(i.ref for i in info.inputs) == [
        "table:gold.customer_daily@4",
        "training_set:churn_train@2",
    ]
    graph = platform.catalog.lineage(f"run:{run.id}")
    assert {str(e.source) for e in graph.edges} == {
        "training_set:churn_train@2",
        "table:gold.customer_daily@4",
    }


def test_input_ref_accepts_objects() -> None:
    class TrainingSet:
        name, version = "churn_train", 3

    class TableInfo:
        name, version = "silver.orders", 7

    assert input_ref(TrainingSet()) == "training_set:churn_train@3"
    assert input_ref(TableInfo()) == "table:silver.orders@7"
    with pytest.raises(InvalidArgument):
        input_ref(42)


def test_source_tags_and_nested_runs(platform: Platform) -> None:
    with (
        platform.tracking.start_run(experiment="e", run_name="parent") as parent,
        parent.start_run("child") as child,
    ):
        child.log_metric("x", 1.0)
    info = platform.tracking.get_run(parent.id)
    assert info.tags["shipyard.python_version"].count(".") == 2
    assert "scikit-learn" in json.loads(info.tags["shipyard.packages"])
    assert info.tags["shipyard.source.entry_point"]
    kid = platform.tracking.get_run(child.id)
    assert kid.parent_run_id == parent.id and kid.tags["mlflow.parentRunId"] == parent.id


def test_failed_block_marks_run_failed(platform: Platform) -> None:
    with pytest.raises(RuntimeError), platform.tracking.start_run(experiment="e") as run:
        raise RuntimeError("boom")
    assert platform.tracking.get_run(run.id).status == "FAILED"


def test_viewer_cannot_log(platform: Platform) -> None:
    from shipyard.errors import PermissionDenied

    run = platform.tracking.create_run("e")
    viewer = platform.security.create_principal("v", role="viewer")
    as_viewer = platform.as_principal(viewer).tracking
    assert as_viewer.get_run(run.id).id == run.id
    with pytest.raises(PermissionDenied):
        as_viewer.log_metric(run.id, "x", 1.0)
    records = platform.audit.list_records(action="tracking.log").items
    assert any(r.outcome == "denied" for r in records)
