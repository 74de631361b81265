"""Shipyard's work sends OpenLineage run events that conform to the spec."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.errors import ShipyardError
from shipyard.features import Entity, Feature, FeatureService, FeatureView
from shipyard.lake.models import TableDefinition
from shipyard.platform import Platform
from tests.unit.lineage.spec import check_event


@pytest.fixture
def lp(project_dir: Path) -> Iterator[Platform]:
    events = project_dir / "ol.jsonl"
    with Platform.open(project_dir, lineage={"transport": "file", "path": str(events)}) as p:
        yield p


def events(p: Platform) -> list[dict[str, Any]]:
    path = Path(p.settings.lineage.path or "")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def by_job(p: Platform, job: str) -> list[dict[str, Any]]:
    return [e for e in events(p) if e["job"]["name"] == job]


def _ingest(p: Platform, tmp: Path, rows: int = 3) -> None:
    path = tmp / f"c{rows}.csv"
    pd.DataFrame(
        {
            "customer_id": list(range(rows)),
            "spend": [float(i) for i in range(rows)],
            "event_ts": pd.date_range("2026-01-01", periods=rows, freq="D", tz="UTC"),
        }
    ).to_csv(path, index=False)
    p.lake.ingest("bronze.customers", path)


def test_lineage_is_off_by_default(platform: Platform, tmp_path: Path) -> None:
    assert platform.context.observer is None and platform.backends.lineage is None
    _ingest(platform, tmp_path)
    assert not list(platform.settings.home_dir.glob("*.jsonl"))


def test_a_refresh_sends_start_and_complete_with_every_facet(lp: Platform, tmp_path: Path) -> None:
    _ingest(lp, tmp_path)
    lp.lake.define(
        TableDefinition(
            name="silver.customers",
            sql="SELECT customer_id, spend * 2 AS spend2, event_ts FROM bronze.customers",
        )
    )
    lp.lake.refresh("silver.customers")
    for e in events(lp):
        check_event(e)
    start, complete = by_job(lp, "lake.refresh/table:silver.customers")
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert start["job"]["namespace"] == f"shipyard://{lp.settings.project}"
    (source,) = complete["inputs"]
    assert source["name"] == "table:bronze.customers"
    assert source["facets"]["version"]["datasetVersion"] == "0"
    (out,) = complete["outputs"]
    table = lp.lake.get_table("silver.customers")
    assert out["facets"]["version"]["datasetVersion"] == str(table.version)  # the Delta version
    assert [f["name"] for f in out["facets"]["schema"]["fields"]] == [
        "customer_id",
        "spend2",
        "event_ts",
    ]
    lineage = out["facets"]["columnLineage"]["fields"]
    assert lineage["spend2"]["inputFields"] == [
        {
            "namespace": out["namespace"],
            "name": "table:bronze.customers",
            "field": "spend",
            "transformations": [],
        }
    ]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 3


def test_ingest_write_materialize_training_set_and_run(lp: Platform, tmp_path: Path) -> None:
    _ingest(lp, tmp_path)
    lp.lake.write("bronze.extra", pd.DataFrame({"k": [1, 2]}))
    view = FeatureView(
        name="spend",
        entities=["customer"],
        source="bronze.customers",
        timestamp_field="event_ts",
        features=[Feature("spend", "float64")],
        online=True,
        ttl=None,
    )
    lp.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="svc", features=[view]),
        ]
    )
    lp.features.materialize()
    labels = pd.DataFrame(
        {"customer_id": [1, 2], "event_timestamp": pd.to_datetime(["2026-02-01"] * 2, utc=True)}
    )
    ts = lp.features.create_training_set("train", labels, feature_service="svc")
    with lp.tracking.start_run(experiment="e") as run:
        run.log_input(ts)
    sent = events(lp)
    for e in sent:
        check_event(e)
    kinds = {(e["job"]["name"].split("/")[0], e["eventType"]) for e in sent}
    for action in (
        "lake.ingest",
        "lake.write",
        "features.materialize",
        "features.create_training_set",
    ):
        assert {(action, "START"), (action, "COMPLETE")} <= kinds, action
    training = by_job(lp, f"training/run:{run.id}")
    assert [e["eventType"] for e in training] == ["START", "COMPLETE"]
    assert [i["name"] for i in training[1]["inputs"]] == ["training_set:train"]
    (built,) = [
        e
        for e in sent
        if e["job"]["name"] == "features.create_training_set/training_set:train"
        and e["eventType"] == "COMPLETE"
    ]
    assert built["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 2


def test_a_failed_write_sends_fail_with_the_error(lp: Platform) -> None:
    lp.lake.write("bronze.t", pd.DataFrame({"a": [1]}))
    with pytest.raises(ShipyardError):
        lp.lake.write("bronze.t", pd.DataFrame({"a": ["not an int"]}))
    sent = by_job(lp, "lake.write/table:bronze.t")
    for e in sent:
        check_event(e)
    assert [e["eventType"] for e in sent] == ["START", "COMPLETE", "START", "FAIL"]
    assert sent[3]["run"]["facets"]["errorMessage"]["message"]
    assert sent[3]["run"]["runId"] == sent[2]["run"]["runId"] != sent[0]["run"]["runId"]


def test_an_unreachable_endpoint_never_fails_the_work(project_dir: Path) -> None:
    lineage = {"transport": "http", "url": "http://127.0.0.1:9", "timeout": 0.5}
    with Platform.open(project_dir, lineage=lineage) as p:
        started = time.perf_counter()
        p.lake.write("bronze.t", pd.DataFrame({"a": [1]}))
        assert time.perf_counter() - started < 2  # sent in the background
        assert p.lake.get_table("bronze.t").num_rows == 1
        emitter = p.backends.lineage
        assert emitter is not None
        emitter.flush()
        assert emitter.failures == 2 and emitter.sent == 0
