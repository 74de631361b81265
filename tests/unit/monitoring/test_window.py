"""The log's typed feature columns, and drift over logs written before them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from shipyard.monitoring import sketch, window
from shipyard.platform import Platform
from shipyard.serving.predlog import LOG_SCHEMA, LOG_TABLE, to_arrow, typed_features


def test_numbers_and_labels_go_to_their_own_maps() -> None:
    numbers, labels = typed_features(
        [
            {"x": 1, "y": 2.5},
            {},
            {"x": True, "s": "hi", "l": [1], "n": None, "z": np.float32(3), "i": np.int64(4)},
        ]
    )
    assert numbers.to_pylist() == [[("x", 1.0), ("y", 2.5)], [], [("z", 3.0), ("i", 4.0)]]
    assert labels.to_pylist() == [[], [], [("x", "true"), ("s", "hi")]]
    fast_numbers, fast_labels = typed_features([{"a": 1.0}, {"a": 2, "b": 3.0}])
    assert fast_numbers.to_pylist() == [[("a", 1.0)], [("a", 2.0), ("b", 3.0)]]
    assert fast_labels.to_pylist() == [[], []]


def _records(n: int, start: int, rng: np.random.Generator) -> list[dict[str, object]]:
    now = time.time()
    return [
        {
            "request_id": f"r{start + i}",
            "row": 0,
            "ts": now - 30,
            "deployment": "d",
            "deployment_version": 1,
            "variant": "a",
            "shadow": False,
            "model": "m",
            "model_version": 1,
            "entity_key": None,
            "routing_key": None,
            "features": {"x": float(rng.normal()), "c": str(rng.integers(3)), "gone": None},
            "prediction": 0.5,
            "latency_ms": 1.0,
            "error": None,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("legacy_rows", [0, 40, 100])
def test_typed_and_legacy_rows_give_the_same_window(platform: Platform, legacy_rows: int) -> None:
    rng = np.random.default_rng(3)
    records = _records(100, 0, rng)
    old_schema = pa.schema([f for f in LOG_SCHEMA if f.name not in window.TYPED])
    if legacy_rows:  # a log from before the typed columns, then new rows appended
        old = to_arrow(records[:legacy_rows]).select(old_schema.names)
        platform.lake.write(LOG_TABLE, old)
    if legacy_rows < 100:
        platform.lake.write(
            LOG_TABLE, to_arrow(records[legacy_rows:]), mode="append", schema_evolution=True
        )
    dt = platform.lake.storage.open(LOG_TABLE)
    now = datetime.now(UTC)
    table = window.scan(dt, "d", now - timedelta(minutes=5), now)
    assert table.num_rows == 100
    assert window.served_most(table) == ("m", 1)
    profiles = {
        "x": sketch.numeric_profile("x", np.zeros(3), 0),
        "c": sketch.categorical_profile("c", {"0": 1}, 0),
        "gone": sketch.numeric_profile("gone", np.zeros(3), 0),
    }
    found = window.features(table, profiles)
    values, nulls = found["x"]  # type: ignore[misc]
    expected = np.array([r["features"]["x"] for r in records])  # type: ignore[index]
    assert nulls == 0 and np.allclose(np.sort(values), np.sort(expected))
    counts, cat_nulls = found["c"]  # type: ignore[misc]
    assert cat_nulls == 0 and sum(counts.values()) == 100
    assert found["gone"] is None or found["gone"][0].size == 0
