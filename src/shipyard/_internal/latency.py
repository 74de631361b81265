"""Process-wide latency histograms that capabilities record and ``/metrics`` exports.

Kept here (not in ``monitoring``) so that a hot path such as the online store read
records its latency without importing the monitoring capability. An observation is
one bisect and two additions under a lock (well under a microsecond).
"""

from __future__ import annotations

import bisect
import threading

#: Upper bounds (seconds): 10 us to 1 s, for reads that are usually tens of microseconds.
FAST_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.05, 0.25, 1.0)


class LatencyHistogram:
    """Counts per bucket (the last is +Inf), their sum and count; thread-safe."""

    def __init__(self, buckets: tuple[float, ...] = FAST_BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        i = bisect.bisect_left(self.buckets, seconds)
        with self._lock:
            self.counts[i] += 1
            self.total += seconds

    def snapshot(self) -> tuple[list[int], float]:
        with self._lock:
            return list(self.counts), self.total


#: Online store reads of feature vectors (``features.get_online_features``), this process.
ONLINE_READS = LatencyHistogram()
