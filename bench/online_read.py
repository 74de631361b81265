"""Online feature reads in process, 1 and 100 entities x 8 features: a quick before/after check.

Run it on two checkouts to compare (``PYTHONPATH=<checkout>/src python bench/online_read.py``);
``bench/features.py`` is the full comparison with Feast.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from shipyard.features import Entity, Feature, FeatureView
from shipyard.platform import Platform

N_ENTITIES = 100_000
FEATURES = [f"f{i}" for i in range(8)]


def _p50_us(fn, n: int = 3000) -> float:  # type: ignore[no-untyped-def]
    for _ in range(200):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e6)
    return statistics.median(out)


def main() -> None:
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as d, Platform.open(d) as p:
        data = {
            "driver_id": np.arange(N_ENTITIES, dtype=np.int64),
            "event_ts": pa.array(
                [now - timedelta(hours=1)] * N_ENTITIES, pa.timestamp("us", "UTC")
            ),
        }
        data.update({f: rng.random(N_ENTITIES) for f in FEATURES})
        p.lake.write("gold.driver_stats", pa.table(data))
        p.features.apply(
            [
                Entity(name="driver", join_keys=["driver_id"]),
                FeatureView(
                    name="driver_stats",
                    entities=["driver"],
                    source="gold.driver_stats",
                    timestamp_field="event_ts",
                    features=[Feature(name=f, dtype="float64") for f in FEATURES],
                    ttl=None,
                ),
            ]
        )
        p.features.materialize(["driver_stats"])
        refs = [f"driver_stats:{f}" for f in FEATURES]
        one = [{"driver_id": 7}]
        hundred = [{"driver_id": int(i)} for i in rng.integers(0, N_ENTITIES, 100)]
        read = p.features.get_online_features
        print(f"1 entity x 8 features   p50 {_p50_us(lambda: read(refs, entity_rows=one)):8.1f} µs")
        print(
            f"100 entities x 8        p50 "
            f"{_p50_us(lambda: read(refs, entity_rows=hundred), 500):8.1f} µs"
        )


if __name__ == "__main__":
    main()
