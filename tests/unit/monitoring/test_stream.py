"""Streamed drift: batches' counts add up to exactly the in-memory histogram and report."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from shipyard.monitoring import drift, sketch
from shipyard.monitoring.models import Thresholds
from shipyard.monitoring.stream import StreamingDrift


def test_streamed_counts_and_scores_equal_the_in_memory_ones() -> None:
    rng = np.random.default_rng(0)
    ref = {
        f"f{j}": sketch.numeric_profile(f"f{j}", rng.normal(size=5000) * (j + 1), 0)
        for j in range(12)
    }
    ref["heavy"] = sketch.numeric_profile("heavy", np.repeat([0.0, 1.0, 2.0], 1000), 0)
    cur = rng.normal(loc=0.3, size=(13, 6000)) * np.arange(1, 14)[:, None]
    cur[0, :10] = np.nan  # nulls
    cur[1, :5], cur[2, :5] = 1e12, -1e12  # far outside the reference range
    cur[3, :100] = ref["f3"].edges[5]  # exactly on an edge: the bin above it
    cur[12] = rng.choice([0.0, 1.0, 2.0, 0.5], size=6000)  # many ties, edges crowded
    names = list(ref)
    parts = [StreamingDrift(ref), StreamingDrift(ref)]
    for k, block in enumerate(np.array_split(cur, 4, axis=1)):
        parts[k % 2].add(
            pa.table({n: pa.array(block[j], from_pandas=True) for j, n in enumerate(names)})
        )
    acc = parts[0].merge(parts[1])
    limits = Thresholds()
    for j, n in enumerate(names):
        values = cur[j][np.isfinite(cur[j])]
        expected = sketch.bin_counts(np.asarray(ref[n].edges), values)
        assert acc.histogram(n).tolist() == expected.tolist(), n
    streamed = acc.report(limits)
    direct = [
        drift.numeric_drift(
            ref[n], cur[j][np.isfinite(cur[j])], int((~np.isfinite(cur[j])).sum()), limits
        )
        for j, n in enumerate(names)
    ]
    assert [f.model_dump() for f in streamed] == [f.model_dump() for f in direct]
    assert acc.rows == 6000 and int(acc.nulls[0]) == 10
    with pytest.raises(ValueError):
        acc.merge(StreamingDrift({"f0": ref["f0"]}))
