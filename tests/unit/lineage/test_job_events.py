"""Pipeline jobs send a run each: START, then COMPLETE or FAIL with the job's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.platform import Platform
from tests.unit.lineage.spec import check_event
from tests.unit.pipelines.conftest import STEPS, drain


@pytest.fixture
def jp(tmp_path: Path) -> Iterator[Platform]:
    config = {
        "jobs": {"modules": [STEPS]},
        "lineage": {"transport": "file", "path": str(tmp_path / "ol.jsonl")},
    }
    (tmp_path / "shipyard.yaml").write_text(json.dumps(config))
    with Platform.open(tmp_path) as p:
        yield p


def test_jobs_send_run_events(jp: Platform, tmp_path: Path) -> None:
    jp.jobs.submit(f"{STEPS}:emit", {"value": 2})
    jp.jobs.submit(f"{STEPS}:fail", max_attempts=1)
    drain(jp)
    sent = [json.loads(line) for line in (tmp_path / "ol.jsonl").read_text().splitlines()]
    for e in sent:
        check_event(e)
    runs = {
        e["job"]["name"]: [x["eventType"] for x in sent if x["run"]["runId"] == e["run"]["runId"]]
        for e in sent
        if e["job"]["name"].startswith("jobs.run/")
    }
    assert runs == {
        f"jobs.run/job:{STEPS}:emit": ["START", "COMPLETE"],
        f"jobs.run/job:{STEPS}:fail": ["START", "FAIL"],
    }
    (failed,) = [e for e in sent if e["eventType"] == "FAIL"]
    assert failed["run"]["facets"]["errorMessage"]["message"]
