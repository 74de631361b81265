"""run_drift's streamed window gives the same scores as the whole window in memory."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from shipyard.monitoring import sketch, window, window_stream
from shipyard.monitoring.models import Thresholds
from shipyard.monitoring.service import MonitoringService
from shipyard.platform import Platform
from shipyard.serving.predlog import LOG_SCHEMA, LOG_TABLE, to_arrow


def _records(n: int, rng: np.random.Generator, model: str = "m") -> list[dict[str, object]]:
    now = time.time()
    out: list[dict[str, object]] = []
    for i in range(n):
        feats: dict[str, object] = {"x": float(rng.normal(0.4)), "c": str(rng.integers(4))}
        if i % 3:
            feats["y"] = float(rng.exponential())  # absent from a third of the rows: nulls
        if i % 7 == 0:
            feats["x"] = None
        out.append(
            {
                "request_id": f"{model}{i}-{rng.integers(1 << 30)}",
                "row": 0,
                "ts": now - 30,
                "deployment": "d",
                "deployment_version": 1,
                "variant": "a",
                "shadow": False,
                "model": model,
                "model_version": 1,
                "entity_key": None,
                "routing_key": None,
                "features": feats,
                "prediction": 0.5,
                "latency_ms": 1.0,
                "error": None,
            }
        )
    return out


@pytest.mark.parametrize("legacy_rows", [0, 90])
def test_streamed_window_scores_equal_the_in_memory_ones(
    platform: Platform, legacy_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window_stream, "BATCH_ROWS", 37)  # many batches of a small window
    rng = np.random.default_rng(5)
    records = _records(400, rng) + _records(50, rng, model="other")
    old_schema = pa.schema([f for f in LOG_SCHEMA if f.name not in window.TYPED])
    if legacy_rows:  # a log from before the typed columns, then typed rows appended
        platform.lake.write(LOG_TABLE, to_arrow(records[:legacy_rows]).select(old_schema.names))
    platform.lake.write(
        LOG_TABLE, to_arrow(records[legacy_rows:]), mode="append", schema_evolution=True
    )
    dt = platform.lake.storage.open(LOG_TABLE)
    now = datetime.now(UTC)
    start = now - timedelta(minutes=5)
    reference = {
        "x": sketch.numeric_profile("x", rng.normal(size=2000), 5),
        "y": sketch.numeric_profile("y", rng.exponential(size=2000), 0),
        "c": sketch.categorical_profile("c", {"0": 50, "1": 50, "2": 50}, 0),
        "gone": sketch.numeric_profile("gone", np.zeros(3), 0),
    }
    limits = Thresholds(psi=0.2, js=0.1, ks=0.1, pvalue=0.01, min_rows=10)

    table = window.scan(dt, "d", start, now)
    rows, by_model = window_stream.served(dt, "d", start, now)
    assert rows == table.num_rows == 450 and by_model == Counter({("m", 1): 400, ("other", 1): 50})
    served = window_stream.served_most(by_model)
    assert served == window.served_most(table) == ("m", 1)
    whole = MonitoringService._feature_drift(reference, window.only_model(table, *served), limits)

    counters = window_stream.WindowDrift(reference)
    parts = Counter()
    for part, batch in window_stream.batches(dt, "d", start, now, *served):
        parts[part] += 1
        counters.add(part, batch)
    assert sum(parts.values()) > 4 and bool(parts["legacy"]) == bool(legacy_rows)
    streamed = counters.report(limits)
    assert [f.feature for f in streamed] == [f.feature for f in whole] == ["x", "y", "c"]
    assert [f.model_dump() for f in streamed] == [f.model_dump() for f in whole]
    assert next(f for f in streamed if f.feature == "x").drifted  # shifted by 0.4
    assert next(f for f in streamed if f.feature == "y").null_rate_current > 0.3


def test_served_most_breaks_ties_by_name_and_ignores_null_models() -> None:
    assert window_stream.served_most(Counter()) is None
    assert window_stream.served_most(Counter({("b", 1): 5, ("a", 2): 5})) == ("a", 2)
    assert window_stream.served_most(Counter({(None, None): 9, ("a", 1): 5})) is None
