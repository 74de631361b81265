"""Streaming inference: topic -> online features -> predict -> lake table or topic.

The crash tests stop a consumer after its output is written and before its offset
is committed, publish more records, and restart it: nothing is written twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidArgument, NotFound
from shipyard.events.models import Batch
from shipyard.platform import Platform
from shipyard.serving import Variant

OUT = "gold.churn_scores"
ROOT = Path(__file__).resolve().parents[3]


class Crash(Exception):
    """Stands for the process dying between the write and the commit."""


def _deploy(p: Platform, variants: list[Variant] | None = None) -> None:
    p.serving.create_deployment(
        "churn",
        variants=variants or [Variant(name="a", model="churn@champion", weight=100)],
        feature_service="churn",
        entity_keys=["customer_id"],
    )


def _publish(p: Platform, ids: range) -> None:
    p.events.publish("orders", [{"customer_id": i, "order_id": 1000 + i} for i in ids])


def _crash_on(n: int) -> Callable[[Batch], None]:
    seen: list[int] = []

    def hook(batch: Batch) -> None:
        seen.append(batch.first_offset)
        if len(seen) == n:
            raise Crash(batch.batch_id)

    return hook


def test_stream_to_table_scores_each_record_with_lineage(served: Platform) -> None:
    _deploy(served)
    _publish(served, range(25))
    r = served.serving.run_stream("churn", "orders", output_table=OUT, max_records=10)
    assert (r.batches, r.records, r.skipped_batches, r.committed_offset) == (3, 25, 0, 25)
    rows = served.lake.sql(f"SELECT * FROM {OUT} ORDER BY _offset").to_pylist()
    assert [x["_offset"] for x in rows] == list(range(25))
    assert [x["order_id"] for x in rows] == [1000 + i for i in range(25)]
    direct = served.serving.predict("churn", [{"customer_id": 3}]).predictions[0]
    assert rows[3]["prediction"] == pytest.approx(direct)
    assert {x["model_version"] for x in rows} == {"churn/1"}
    up = served.catalog.lineage(f"table:{OUT}", depth=1)
    sources = {(e.source.kind, e.source.name, e.source.version) for e in up.edges}
    assert ("topic", "orders", 1) in sources
    assert ("model", "churn", 1) in sources
    # nothing new: a second run does nothing
    assert served.serving.run_stream("churn", "orders", output_table=OUT).batches == 0


def test_restart_after_crash_between_write_and_commit_writes_nothing_twice(
    served: Platform,
) -> None:
    _deploy(served)
    _publish(served, range(30))
    with pytest.raises(Crash):
        served.serving.run_stream(
            "churn", "orders", output_table=OUT, max_records=10, after_write=_crash_on(2)
        )
    assert served.events.get_topic("orders").groups["stream.churn"] == 10  # batch 2 uncommitted
    assert served.lake.sql(f"SELECT count(*) AS n FROM {OUT}").to_pylist()[0]["n"] == 20
    _publish(served, range(30, 37))  # more records arrive while the consumer is down
    # a bigger batch size on restart: the pending range still comes back as it was
    r = served.serving.run_stream("churn", "orders", output_table=OUT, max_records=25)
    assert (r.skipped_batches, r.committed_offset) == (1, 37)
    offsets = served.lake.sql(f"SELECT _offset FROM {OUT}").column("_offset").to_pylist()
    assert sorted(offsets) == list(range(37))  # every record once, none twice


def test_stream_to_topic_restart_publishes_nothing_twice(served: Platform) -> None:
    _deploy(served)
    _publish(served, range(12))
    with pytest.raises(Crash):
        served.serving.run_stream(
            "churn", "orders", output_topic="scores", max_records=5, after_write=_crash_on(1)
        )
    r = served.serving.run_stream("churn", "orders", output_topic="scores", max_records=5)
    assert (r.batches, r.skipped_batches) == (3, 1)
    out = served.events.read_records("scores", limit=100)
    assert [x.value["_offset"] for x in out] == list(range(12))
    assert all(isinstance(x.value["prediction"], float) for x in out)
    edges = served.catalog.lineage("topic:scores", depth=1).edges
    assert {(e.source.kind, e.source.name) for e in edges} == {
        ("topic", "orders"),
        ("model", "churn"),
    }


def test_ab_split_is_sticky_per_entity_within_a_batch(served: Platform) -> None:
    _deploy(
        served,
        [
            Variant(name="a", model="churn/1", weight=50),
            Variant(name="b", model="churn/2", weight=50),
        ],
    )
    _publish(served, range(200))
    served.serving.run_stream("churn", "orders", output_table=OUT, max_records=200)
    rows = served.lake.sql(f"SELECT customer_id, variant FROM {OUT}").to_pylist()
    counts = Counter(x["variant"] for x in rows)
    assert 70 <= counts["a"] <= 130 and counts["a"] + counts["b"] == 200
    for x in rows[:20]:  # the same variant an online request for that entity gets
        resp = served.serving.predict("churn", [{"customer_id": x["customer_id"]}])
        assert resp.variant == x["variant"]


def test_bad_input_is_refused_and_nothing_is_committed(served: Platform) -> None:
    _deploy(served)
    with pytest.raises(InvalidArgument, match="exactly one"):
        served.serving.run_stream("churn", "orders", output_table=OUT, output_topic="x")
    with pytest.raises(NotFound):
        served.serving.run_stream("nope", "orders", output_table=OUT)
    served.events.publish("orders", [{"customer_id": 1}, {"order_id": 2}])
    with pytest.raises(InvalidArgument, match="offset 1 of orders: missing entity key"):
        served.serving.run_stream("churn", "orders", output_table=OUT)
    assert served.events.get_topic("orders").groups.get("stream.churn", 0) == 0
    served.events.publish("reserved", [{"customer_id": 1, "prediction": 0.5}])
    with pytest.raises(InvalidArgument, match="reserved"):
        served.serving.run_stream("churn", "reserved", output_table=OUT)


def test_refused_records_go_to_the_dead_letter_topic_once(served: Platform) -> None:
    _deploy(served)
    served.events.publish(
        "orders",
        [{"customer_id": 1}, {"order_id": 2}, {"customer_id": 3.5}, {"customer_id": 4}],
    )
    with pytest.raises(Crash):
        served.serving.run_stream(
            "churn",
            "orders",
            output_table=OUT,
            dead_letter_topic="orders.dead",
            after_write=_crash_on(1),
        )
    r = served.serving.run_stream(
        "churn", "orders", output_table=OUT, dead_letter_topic="orders.dead"
    )
    assert (r.records, r.dead_lettered, r.skipped_batches, r.committed_offset) == (4, 2, 1, 4)
    offsets = served.lake.sql(f"SELECT _offset FROM {OUT} ORDER BY 1").column(0).to_pylist()
    assert offsets == [0, 3]
    dead = [x.value for x in served.events.read_records("orders.dead")]
    assert [(d["offset"], "customer_id" in d["error"]) for d in dead] == [(1, True), (2, True)]


_SCORER_DIES_BEFORE_COMMIT = """
import os, signal, sys
from shipyard.events.service import EventService
from shipyard.platform import Platform

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

EventService.commit_offset = die
p = Platform.open(sys.argv[1])
p.serving.run_stream("scorer", "requests", output_table="gold.stream_scores", max_records=8)
"""


def test_a_scorer_process_killed_before_its_commit_duplicates_nothing(
    platform: Platform, project_dir: Path
) -> None:
    """A real registered model, a real process, SIGKILL between the write and the commit."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    with platform.tracking.start_run(experiment="stream") as run:
        run.log_model(
            LogisticRegression().fit(x, (x.a > x.b).astype(int)),
            "model",
            input_example=x.head(3),
            predict_method="predict_proba",
        )
    platform.registry.register_model("scorer", source=f"runs:/{run.id}/model")
    platform.serving.create_deployment(
        "scorer",
        variants=[Variant(name="m", model="scorer/1")],
        entity_keys=["id"],
        request_fields={"a": "float64", "b": "float64"},
    )
    rows = [{"id": i, "a": float(x.a[i]), "b": float(x.b[i])} for i in range(20)]
    platform.events.publish("requests", rows)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", _SCORER_DIES_BEFORE_COMMIT, str(project_dir)], env=env, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    table = "gold.stream_scores"
    assert platform.lake.read(table).num_rows == 8  # the first batch, written, not committed
    r = platform.serving.run_stream("scorer", "requests", output_table=table, max_records=50)
    assert (r.skipped_batches, r.committed_offset) == (1, 20)
    out = platform.lake.read(table).to_pandas().sort_values("_offset")
    assert out["_offset"].tolist() == list(range(20))
    assert out["model_version"].unique().tolist() == ["scorer/1"]
