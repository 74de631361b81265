"""This process's Prometheus counters and histograms (``prometheus-client``, ADR 0051).

Kept here (not in ``monitoring``) so that hot paths (the HTTP middleware, a prediction's
counters, an online store read) record without importing the monitoring capability.

With several server worker processes the server sets ``PROMETHEUS_MULTIPROC_DIR`` (one
fresh directory per run, ``multiprocess_dir``) before its workers start: each worker's
values then live in memory-mapped files there and a scrape of any worker sums them all
(``scrape_registry``). With one process the values stay in memory (``REGISTRY``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

#: Set by the server for its workers; read by ``prometheus-client`` when it is imported.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # no ``*_created`` series: half the text for nothing we use

#: Upper bounds (seconds) of the request latency histogram.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: 10 us to 1 s, for online store reads that are usually tens of microseconds.
FAST_BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.05, 0.25, 1.0)

#: This process's metrics (with one process, what a scrape exports).
REGISTRY = CollectorRegistry(auto_describe=False)

HTTP_REQUESTS = Counter(
    "shipyard_http_requests",
    "HTTP requests by route, method and status class.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "shipyard_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["route"],
    buckets=BUCKETS,
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "shipyard_predictions",
    "Predict calls by deployment and variant.",
    ["deployment", "variant"],
    registry=REGISTRY,
)
PREDICTION_ERRORS = Counter(
    "shipyard_prediction_errors",
    "Failed predict calls by deployment and variant.",
    ["deployment", "variant"],
    registry=REGISTRY,
)
ONLINE_READS = Histogram(
    "shipyard_online_store_read_duration_seconds",
    "Online feature reads (get_online_features).",
    buckets=FAST_BUCKETS,
    registry=REGISTRY,
)
ALERT_DELIVERIES = Counter(
    "shipyard_alert_deliveries",
    "Alert webhook deliveries by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
for _outcome in ("sent", "failed"):  # both exported from the start: absent means 0
    ALERT_DELIVERIES.labels(_outcome)


def multiprocess() -> bool:
    """Whether this process records into the shared directory (several workers)."""
    return bool(os.environ.get(MULTIPROC_ENV))


_SCRAPE: list[Any] = []


def scrape_registry() -> Any:
    """What a scrape exports of the recorded metrics: this process's ``REGISTRY``, or with
    several workers every worker's files summed (``MultiProcessCollector``)."""
    if not multiprocess():
        return REGISTRY
    if not _SCRAPE:
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry(auto_describe=False)
        mp.MultiProcessCollector(registry)
        _SCRAPE.append(registry)
    return _SCRAPE[0]


def mark_dead_at_exit() -> None:
    """In a worker of a multi-process server: forget this process's live gauges on exit
    (its counters stay: counts do not vanish with a worker)."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        pid = os.getpid()
        atexit.register(lambda: mp.mark_process_dead(pid))


@contextmanager
def multiprocess_dir(workers: int) -> Iterator[None]:
    """Around a server run with ``workers`` processes: a fresh ``PROMETHEUS_MULTIPROC_DIR``
    that its workers inherit, removed when the run ends (stale files would add an earlier
    run's counts). One worker: nothing to share."""
    if workers <= 1:
        yield
        return
    path = tempfile.mkdtemp(prefix="shipyard-metrics-")
    before = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = before
        shutil.rmtree(path, ignore_errors=True)
