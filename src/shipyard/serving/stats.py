"""Per-variant request counters and a latency window, kept in memory per process."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard._internal.prom import PREDICTION_ERRORS, PREDICTIONS

WINDOW = 2048


@dataclass
class VariantStats:
    requests: int = 0
    errors: int = 0
    #: Latencies (ms) of the last ``WINDOW`` requests, errors included.
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    #: 1 for an error, 0 for a success, for the same window.
    outcomes: deque[int] = field(default_factory=lambda: deque(maxlen=WINDOW))
    #: The Prometheus counters of this variant (``/metrics``; summed across worker processes).
    counted: Any = None
    failed: Any = None

    def record(self, latency_ms: float, error: bool) -> None:
        self.requests += 1
        self.errors += error
        if self.counted is not None:
            self.counted.inc()
            if error:
                self.failed.inc()
        self.latencies.append(latency_ms)
        self.outcomes.append(1 if error else 0)

    def window_error_rate(self) -> float:
        seen = list(self.outcomes)
        return sum(seen) / len(seen) if seen else 0.0

    def window_p99(self) -> float | None:
        seen = list(self.latencies)
        return float(np.percentile(seen, 99)) if seen else None

    def summary(self) -> dict[str, float | int | None]:
        seen = list(self.latencies)
        pct = np.percentile(seen, [50, 95, 99]).tolist() if seen else [None, None, None]
        return {
            "requests": self.requests,
            "errors": self.errors,
            "window_error_rate": self.window_error_rate(),
            "p50_ms": pct[0],
            "p95_ms": pct[1],
            "p99_ms": pct[2],
        }


class StatsBook:
    """``(deployment, variant) -> VariantStats``; ``reset`` when a deployment changes shape."""

    def __init__(self) -> None:
        self._stats: dict[tuple[str, str], VariantStats] = {}
        self._lock = threading.Lock()

    def get(self, deployment: str, variant: str) -> VariantStats:
        key = (deployment, variant)
        found = self._stats.get(key)
        if found is None:
            with self._lock:
                found = self._stats.get(key)
                if found is None:
                    found = self._stats[key] = VariantStats(
                        counted=PREDICTIONS.labels(deployment, variant),
                        failed=PREDICTION_ERRORS.labels(deployment, variant),
                    )
        return found

    def reset(self, deployment: str, variant: str) -> None:
        with self._lock:
            self._stats.pop((deployment, variant), None)

    def for_deployment(self, deployment: str) -> dict[str, VariantStats]:
        return {v: s for (d, v), s in list(self._stats.items()) if d == deployment}
