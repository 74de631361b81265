"""`/metrics` text: the job queue's depth, bounded labels, Prometheus naming rules."""

from __future__ import annotations

import re

from prometheus_client import generate_latest

from shipyard._internal.prom import REGISTRY
from shipyard.monitoring import metrics
from shipyard.platform import Platform

ECHO = "shipyard.pipelines.builtin:echo"
#: Prometheus metric and label names; counters end in _total, durations in _seconds.
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_queue_depth_per_pool_and_the_naming_rules(platform: Platform) -> None:
    platform.jobs.submit(ECHO, {"x": 1}, executor="inprocess")
    platform.jobs.submit(ECHO, {"x": 2}, executor="inprocess")
    platform.jobs.submit(ECHO, {"x": 3}, executor="inprocess", pool="gpu")
    text = platform.monitoring.metrics_text()
    got = _samples(text)
    assert got['shipyard_job_queue_depth{pool="default",state="queued"}'] == 2
    assert got['shipyard_job_queue_depth{pool="gpu",state="queued"}'] == 1
    assert got['shipyard_job_queue_depth{pool="gpu",state="running"}'] == 0
    assert 'shipyard_alert_deliveries_total{outcome="failed"}' in got

    types = dict(
        line.split(" ", 3)[2:4] for line in text.splitlines() if line.startswith("# TYPE ")
    )
    for name, kind in types.items():
        assert NAME.match(name) and name.startswith("shipyard_"), name
        assert (kind == "counter") == name.endswith("_total"), name
    for key in got:
        name = key.split("{", 1)[0]
        assert name in types or re.sub(r"_(bucket|sum|count)$", "", name) in types, key
        for label in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', key):
            assert NAME.match(label) and not label.startswith("__"), key


def _text(*families: object) -> str:
    return generate_latest(metrics.ScrapeCollector(list(families))).decode()  # type: ignore[arg-type]


def test_pool_labels_are_bounded() -> None:
    depth = {(f"pool{i:03d}", "queued"): 1 for i in range(metrics.MAX_POOLS + 30)}
    got = _samples(_text(metrics.queue_family(depth)))
    assert len([k for k in got if 'state="queued"' in k]) == metrics.MAX_POOLS + 1
    assert got['shipyard_job_queue_depth{pool="other",state="queued"}'] == 30


def test_histogram_lines_and_label_escaping() -> None:
    metrics.observe('odd"route', "GET", 200, 0.003)
    lines = generate_latest(REGISTRY).decode().splitlines()
    head = 'shipyard_http_request_duration_seconds_bucket{le="%s",route="odd\\"route"}'
    assert f"{head % '0.0025'} 0.0" in lines and f"{head % '0.005'} 1.0" in lines
    assert f"{head % '1.0'} 1.0" in lines and f"{head % '+Inf'} 1.0" in lines
    body = {
        "deployment": "d",
        "status": "drift",
        "features": [{"feature": "a\nb", "psi": 0.25}],
        "prediction": {"feature": "prediction", "psi": 0.0},
    }
    got = _samples(_text(*metrics.drift_families([metrics.drift_gauges(body)])))
    assert got['shipyard_drift_detected{deployment="d"}'] == 1
    assert got['shipyard_drift_psi{deployment="d",feature="a\\nb"}'] == 0.25
    assert got['shipyard_drift_psi{deployment="d",feature="prediction"}'] == 0


def test_the_prediction_spool_shows_its_rows_and_the_age_of_its_oldest_block(
    platform: Platform,
) -> None:
    """A flush that stopped running shows as a growing age (ADR 0052)."""
    from tests.unit.serving.test_spool import block

    got = _samples(platform.monitoring.metrics_text())
    assert got["shipyard_prediction_spool_rows"] == 0
    assert got["shipyard_prediction_spool_oldest_seconds"] == 0
    platform.serving.runtimes.spool.put(block(5), "b1")
    got = _samples(platform.monitoring.metrics_text())
    assert got["shipyard_prediction_spool_rows"] == 5
    assert 0 <= got["shipyard_prediction_spool_oldest_seconds"] < 60
