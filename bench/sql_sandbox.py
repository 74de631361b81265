"""Lake SQL latency through the SQL sandbox (issue #10): a point query and a 1M-row group-by.

Run it on two checkouts to compare (``PYTHONPATH=<checkout>/src python bench/sql_sandbox.py``).
"""

from __future__ import annotations

import statistics
import tempfile
import time

import numpy as np
import pandas as pd

from shipyard.platform import Platform

QUERIES = {
    "count(*) over 1M rows": "SELECT count(*) FROM gold.events",
    "group-by over 1M rows": (
        "SELECT k, sum(v) AS s, avg(v) AS a FROM gold.events GROUP BY k ORDER BY k"
    ),
    "filtered read (lake.read filter=)": None,
}


def _time(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()  # warm
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d, Platform.open(d) as p:
        n = 1_000_000
        p.lake.write(
            "gold.events",
            pd.DataFrame({"k": rng.integers(0, 1000, n), "v": rng.random(n), "i": np.arange(n)}),
        )
        for label, sql in QUERIES.items():
            if sql is None:
                times = _time(lambda: p.lake.read("gold.events", filter="i < 100"), 30)
            else:
                times = _time(lambda sql=sql: p.lake.sql(sql), 30)
            print(
                f"{label:36s} p50 {statistics.median(times):7.2f} ms   "
                f"p90 {np.percentile(times, 90):7.2f} ms"
            )


if __name__ == "__main__":
    main()
