"""Prometheus exposition (text format 0.0.4) for the API and the inference server.

Two parts (ADR 0051, amending ADR 0013 point 6):

- **recorded** metrics, ``prometheus-client`` counters and histograms of
  ``_internal/prom.py``: HTTP requests (``MetricsMiddleware``), predictions per variant,
  online store reads, alert deliveries. With several worker processes they are in
  multiprocess mode, so one scrape of any worker reports the total of all;
- **computed at scrape time** (``ScrapeCollector``): the newest drift report of each
  deployment, feature freshness and the job queue's depth (read from the catalog DB),
  and this process's inference log buffer.

Labels are bounded: a route is its endpoint's function name (never the raw path),
a status is its class (``2xx``...), deployments and features are catalog names, pools
past ``MAX_POOLS`` add up under ``other``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from shipyard._internal.prom import HTTP_DURATION, HTTP_REQUESTS, scrape_registry

CONTENT_TYPE = CONTENT_TYPE_LATEST
#: At most this many pools are exported one by one; the rest add up under ``other``.
MAX_POOLS = 50


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request and counts it under its endpoint's name."""

    def __init__(self, app: Any) -> None:
        self.app = app
        #: (route, method, status class) -> its counter and histogram children.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]
        t0 = time.perf_counter()

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            endpoint = scope.get("endpoint")
            route = getattr(endpoint, "__name__", None) or "unmatched"
            observe(route, scope["method"], status[0], time.perf_counter() - t0, self._children)


def observe(
    route: str,
    method: str,
    status: int,
    seconds: float,
    cache: dict[tuple[str, str, str], tuple[Any, Any]] | None = None,
) -> None:
    """Count one HTTP request and its latency (``cache``: label children already looked up)."""
    key = (route, method, f"{status // 100}xx")
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = (HTTP_REQUESTS.labels(*key), HTTP_DURATION.labels(route))
        if cache is not None:
            cache[key] = found
    found[0].inc()
    found[1].observe(seconds)


def drift_gauges(body: dict[str, Any]) -> dict[str, Any]:
    """What ``/metrics`` keeps of a stored drift report: its status and each PSI."""
    feats = list(body.get("features") or [])
    if body.get("prediction"):
        feats.append(body["prediction"])
    return {
        "deployment": body["deployment"],
        "status": body["status"],
        "psi": [(f["feature"], float(f["psi"])) for f in feats],
    }


def drift_families(reports: list[dict[str, Any]]) -> list[Metric]:
    """``reports``: ``drift_gauges`` of each deployment's newest report."""
    status = GaugeMetricFamily(
        "shipyard_drift_detected",
        "1 when the newest drift report of a deployment found drift.",
        labels=["deployment"],
    )
    psi = GaugeMetricFamily(
        "shipyard_drift_psi",
        "Population stability index per feature (newest report).",
        labels=["deployment", "feature"],
    )
    for r in sorted(reports, key=lambda r: r["deployment"]):
        dep = r["deployment"]
        status.add_metric([dep], 1 if r["status"] == "drift" else 0)
        for name, value in r["psi"]:
            psi.add_metric([dep, name], value)
    return [status, psi]


_DRIFT_HELP = (
    b"# HELP shipyard_drift_detected 1 when the newest drift report of a deployment found drift."
    b"\n# TYPE shipyard_drift_detected gauge\n",
    b"# HELP shipyard_drift_psi Population stability index per feature (newest report)."
    b"\n# TYPE shipyard_drift_psi gauge\n",
)


def _sample_lines(family: Metric) -> bytes:
    text = generate_latest(ScrapeCollector([family]))
    return b"".join(x for x in text.splitlines(keepends=True) if not x.startswith(b"#"))


def drift_text(reports: list[dict[str, Any]]) -> bytes:
    """``drift_families`` as text. A stored report never changes, so each report's lines
    are written once (by ``generate_latest``) and kept in its ``drift_gauges`` dict, which
    ``MonitoringService.gauges`` caches per report: a scrape of 100 deployments joins bytes."""
    status, psi = [], []
    for r in sorted(reports, key=lambda r: r["deployment"]):
        lines = r.get("_lines")
        if lines is None:
            lines = r["_lines"] = tuple(_sample_lines(f) for f in drift_families([r]))
        status.append(lines[0])
        psi.append(lines[1])
    return _DRIFT_HELP[0] + b"".join(status) + _DRIFT_HELP[1] + b"".join(psi)


def freshness_family(lags: dict[str, float]) -> Metric:
    """``{view: seconds}``: how far each view's newest materialized event time is behind now."""
    out = GaugeMetricFamily(
        "shipyard_feature_freshness_seconds",
        "Now minus the view's newest materialized event time.",
        labels=["view"],
    )
    for view, lag in sorted(lags.items()):
        out.add_metric([view], lag)
    return out


def queue_family(depth: dict[tuple[str, str], int]) -> Metric:
    """``{(pool, state): jobs}`` of the job queue (states ``queued`` and ``running``)."""
    pools = sorted({p for p, _ in depth})
    kept = set(pools[:MAX_POOLS])
    bounded: dict[tuple[str, str], int] = {}
    for (pool, state), n in depth.items():
        key = (pool if pool in kept else "other", state)
        bounded[key] = bounded.get(key, 0) + n
    out = GaugeMetricFamily(
        "shipyard_job_queue_depth",
        "Jobs waiting (queued) or running, per pool.",
        labels=["pool", "state"],
    )
    for state in ("queued", "running"):  # both states of every pool: absent means 0
        for pool in sorted({p for p, _ in bounded}):
            out.add_metric([pool, state], bounded.get((pool, state), 0))
    return out


def log_families(logger: Any) -> list[Metric]:
    """This process's inference log writer (a buffer is per process by nature)."""
    if logger is None:
        return []
    buffered = GaugeMetricFamily(
        "shipyard_inference_log_buffered",
        "Predictions waiting for the next log write (the answering process).",
        value=logger.buffered,
    )
    failures = CounterMetricFamily(
        "shipyard_inference_log_write_failures",
        "Failed log writes, retried (the answering process).",
        value=logger.failures,
    )
    return [buffered, failures]


def spool_families(rows: int, oldest_seconds: float) -> list[Metric]:
    """The prediction spool of the project, waiting for the scheduled flush (ADR 0052)."""
    return [
        GaugeMetricFamily(
            "shipyard_prediction_spool_rows",
            "Predictions spooled by server processes, not yet in the inference log.",
            value=rows,
        ),
        GaugeMetricFamily(
            "shipyard_prediction_spool_oldest_seconds",
            "Age of the oldest spooled prediction block (grows when flushes stop).",
            value=oldest_seconds,
        ),
    ]


class ScrapeCollector:
    """The families computed for one scrape (``generate_latest`` reads ``collect``)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def render(
    served: tuple[Any, Any] | None,
    reports: list[dict[str, Any]],
    freshness: dict[str, float] | None = None,
    queue: dict[tuple[str, str], int] | None = None,
    spool: tuple[int, float] = (0, 0.0),
) -> str:
    """The whole scrape: the recorded metrics (of every worker process), the newest drift
    ``reports``, feature freshness, the job ``queue``'s depth, the prediction ``spool``
    (rows, oldest age) and, when this process has served (``served``: its runtime and
    inference log writer), its log buffer."""
    families = [freshness_family(freshness or {}), queue_family(queue or {})]
    families += spool_families(*spool)
    families += log_families(served[1] if served is not None else None)
    recorded = generate_latest(scrape_registry())
    return (recorded + drift_text(reports) + generate_latest(ScrapeCollector(families))).decode()
