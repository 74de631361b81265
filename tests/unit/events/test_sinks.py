"""Topic -> bronze micro-batches and topic -> feature PushSource, at least once.

The lake test kills a real consumer process (SIGKILL) after its write and before
its commit, then restarts the sink: nothing is appended twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument
from shipyard.features import PRESENT, Entity, Feature, FeatureView, PushSource
from shipyard.platform import Platform

ROOT = Path(__file__).resolve().parents[3]
BRONZE = "bronze.orders_stream"

_DIES_BEFORE_COMMIT = f"""
import os, signal, sys
from shipyard.events.service import EventService
from shipyard.platform import Platform

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

EventService.commit_offset = die
p = Platform.open(sys.argv[1])
p.events.to_lake("orders", "{BRONZE}", max_records=10)
"""


def _publish(p: Platform, ids: range) -> None:
    p.events.publish("orders", [{"order_id": i, "amount": i * 1.5} for i in ids])


def test_bronze_sink_appends_each_batch_once_with_lineage(platform: Platform) -> None:
    _publish(platform, range(25))
    r = platform.events.to_lake("orders", BRONZE, max_records=10, max_batches=2)
    assert (r.batches, r.records, r.committed_offset) == (2, 20, 20)
    r = platform.events.to_lake("orders", BRONZE, max_records=10)
    assert (r.batches, r.records, r.committed_offset) == (1, 5, 25)
    rows = platform.lake.read(BRONZE).to_pylist()
    assert sorted(x["order_id"] for x in rows) == list(range(25))
    assert {x["_source"] for x in rows} == {"topic:orders"}
    assert len({x["_batch_id"] for x in rows}) == 3
    edges = platform.catalog.lineage(f"table:{BRONZE}", depth=1).edges
    assert {(e.source.kind, e.source.name) for e in edges} == {("topic", "orders")}


def test_consumer_killed_between_write_and_commit_duplicates_nothing(
    platform: Platform, project_dir: Path
) -> None:
    _publish(platform, range(30))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", _DIES_BEFORE_COMMIT, str(project_dir)], env=env, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    assert platform.lake.read(BRONZE).num_rows == 10  # written, never committed
    assert platform.events.get_topic("orders").groups["lake." + BRONZE] == 0
    _publish(platform, range(30, 34))
    r = platform.events.to_lake("orders", BRONZE, max_records=50)  # another batch size
    assert (r.skipped_batches, r.committed_offset) == (1, 34)
    ids = platform.lake.read(BRONZE).column("order_id").to_pylist()
    assert sorted(ids) == list(range(34))


@pytest.fixture
def pushed(platform: Platform) -> Platform:
    view = FeatureView(
        name="clicks",
        entities=["customer"],
        source=PushSource("click_events", table="bronze.clicks"),
        timestamp_field="ts",
        features=[Feature("clicks", "int64")],
    )
    platform.features.apply([Entity(name="customer", join_keys=["customer_id"]), view])
    return platform


def test_feature_push_consumer_updates_online_and_offline(pushed: Platform) -> None:
    ts = datetime(2026, 1, 2, tzinfo=UTC).isoformat()
    pushed.events.publish(
        "clicks", [{"customer_id": i, "ts": ts, "clicks": 10 + i} for i in range(3)]
    )
    r = pushed.events.to_features("clicks", "click_events")
    assert (r.records, r.committed_offset) == (3, 3)
    got = pushed.features.get_online_features(
        ["clicks:clicks"], entity_rows=[{"customer_id": i} for i in range(3)]
    )
    assert got.to_dict()["clicks"] == [10, 11, 12]
    assert got.statuses["clicks"] == [PRESENT] * 3
    assert pushed.lake.read("bronze.clicks").num_rows == 3


def test_a_batch_the_push_source_refuses_is_not_committed(pushed: Platform) -> None:
    pushed.events.publish("clicks", [{"customer_id": 1, "clicks": "many"}])
    with pytest.raises(InvalidArgument):
        pushed.events.to_features("clicks", "click_events")
    assert pushed.events.get_topic("clicks").groups["features.click_events"] == 0


def test_unknown_backend_is_a_config_error(project_dir: Path) -> None:
    from shipyard.errors import ConfigError

    for backend in ("kafka", "no.such.module:Bus"):
        p = Platform.open(project_dir, events={"backend": backend})
        try:
            with pytest.raises(ConfigError, match=r"events\.backend"):
                p.events.list_topics()
        finally:
            p.close()
