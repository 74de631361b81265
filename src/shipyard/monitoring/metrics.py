"""Prometheus text exposition (format 0.0.4) for the API and the inference server.

``prometheus-client`` is not in this environment's package set; the exposition
format is small, so this module writes it: counters and a latency histogram of
HTTP requests recorded by ``MetricsMiddleware``, plus what the process already
knows (per-variant prediction counts, the inference log's buffer) and the newest
drift report of each deployment (read from the catalog DB at scrape time).

Labels are bounded: a route is its endpoint's function name (never the raw path),
a status is its class (``2xx``...), deployments and features are catalog names.
Counters are per process: with several uvicorn workers, each answers with its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

#: Upper bounds (seconds) of the request latency histogram.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: The ``le`` label of each bucket, written once.
_LE = tuple(
    "+Inf" if b == float("inf") else (str(int(b)) if float(b).is_integer() else repr(b))
    for b in (*BUCKETS, float("inf"))
)


def _escape(value: str) -> str:
    if "\\" not in value and "\n" not in value and '"' not in value:
        return value  # the common case: catalog names need no escaping
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, Any]]) -> str:
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _num(v: float) -> str:
    if v == float("inf"):
        return "+Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class RequestMetrics:
    """HTTP request counts and latency histograms of this process (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[tuple[str, str, str], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        klass = f"{status // 100}xx"
        with self._lock:
            key = (route, method, klass)
            self.counts[key] = self.counts.get(key, 0) + 1
            hist = self.buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
                    break
            else:
                hist[-1] += 1
            self.sums[route] = self.sums.get(route, 0.0) + seconds

    def render(self) -> list[str]:
        with self._lock:
            counts, buckets, sums = (
                dict(self.counts),
                {k: list(v) for k, v in self.buckets.items()},
                dict(self.sums),
            )
        out = [
            "# HELP shipyard_http_requests_total HTTP requests by route, method and status class.",
            "# TYPE shipyard_http_requests_total counter",
        ]
        for (route, method, klass), n in sorted(counts.items()):
            labels = _labels([("route", route), ("method", method), ("status", klass)])
            out.append(f"shipyard_http_requests_total{labels} {n}")
        out += [
            "# HELP shipyard_http_request_duration_seconds HTTP request latency by route.",
            "# TYPE shipyard_http_request_duration_seconds histogram",
        ]
        for route, hist in sorted(buckets.items()):
            running = 0
            head = f'shipyard_http_request_duration_seconds_bucket{{route="{_escape(route)}",le="'
            for le, n in zip(_LE, hist, strict=True):
                running += n
                out.append(f'{head}{le}"}} {running}')
            labels = _labels([("route", route)])
            out.append(f"shipyard_http_request_duration_seconds_sum{labels} {sums[route]!r}")
            out.append(f"shipyard_http_request_duration_seconds_count{labels} {running}")
        return out


#: This process's request metrics (both apps of one process share them).
REQUESTS = RequestMetrics()


class MetricsMiddleware:
    """Pure ASGI: times each HTTP request and counts it under its endpoint's name."""

    def __init__(self, app: Any, metrics: RequestMetrics = REQUESTS) -> None:
        self.app = app
        self.metrics = metrics

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
            self.metrics.observe(route, scope["method"], status[0], time.perf_counter() - t0)


def _serving_lines(served: tuple[Any, Any] | None) -> list[str]:
    """``served``: this process's serving runtime and inference log writer, if it served."""
    out = [
        "# HELP shipyard_predictions_total Predict calls by deployment and variant (this process).",
        "# TYPE shipyard_predictions_total counter",
    ]
    errors = [
        "# HELP shipyard_prediction_errors_total Failed predict calls (this process).",
        "# TYPE shipyard_prediction_errors_total counter",
    ]
    runtime, logger = served if served is not None else (None, None)
    if runtime is not None:
        for (dep, variant), s in sorted(runtime.stats._stats.items()):
            labels = _labels([("deployment", dep), ("variant", variant)])
            out.append(f"shipyard_predictions_total{labels} {s.requests}")
            errors.append(f"shipyard_prediction_errors_total{labels} {s.errors}")
    out += errors
    if logger is not None:
        out += [
            "# HELP shipyard_inference_log_buffered Predictions waiting for the next log write.",
            "# TYPE shipyard_inference_log_buffered gauge",
            f"shipyard_inference_log_buffered {logger.buffered}",
            "# HELP shipyard_inference_log_write_failures_total Failed log writes (retried).",
            "# TYPE shipyard_inference_log_write_failures_total counter",
            f"shipyard_inference_log_write_failures_total {logger.failures}",
        ]
    return out


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


def _drift_lines(reports: list[dict[str, Any]]) -> list[str]:
    """``reports``: ``drift_gauges`` of each deployment's newest report."""
    status = [
        "# HELP shipyard_drift_detected 1 when the newest drift report of a deployment found drift.",
        "# TYPE shipyard_drift_detected gauge",
    ]
    psi = [
        "# HELP shipyard_drift_psi Population stability index per feature (newest report).",
        "# TYPE shipyard_drift_psi gauge",
    ]
    for r in sorted(reports, key=lambda r: r["deployment"]):
        dep = _escape(r["deployment"])
        flag = 1 if r["status"] == "drift" else 0
        status.append(f'shipyard_drift_detected{{deployment="{dep}"}} {flag}')
        head = f'shipyard_drift_psi{{deployment="{dep}",feature="'
        psi += [f'{head}{_escape(name)}"}} {_num(value)}' for name, value in r["psi"]]
    return status + psi


def freshness_lines(lags: dict[str, float]) -> list[str]:
    """``{view: seconds}``: how far each view's newest materialized event time is behind now."""
    out = [
        "# HELP shipyard_feature_freshness_seconds Now minus the view's newest materialized "
        "event time.",
        "# TYPE shipyard_feature_freshness_seconds gauge",
    ]
    out += [
        f"shipyard_feature_freshness_seconds{_labels([('view', v)])} {_num(lag)}"
        for v, lag in sorted(lags.items())
    ]
    return out


#: At most this many pools are exported one by one; the rest add up under ``other``.
MAX_POOLS = 50


def queue_lines(depth: dict[tuple[str, str], int]) -> list[str]:
    """``{(pool, state): jobs}`` of the job queue (states ``queued`` and ``running``)."""
    pools = sorted({p for p, _ in depth})
    kept = set(pools[:MAX_POOLS])
    bounded: dict[tuple[str, str], int] = {}
    for (pool, state), n in depth.items():
        key = (pool if pool in kept else "other", state)
        bounded[key] = bounded.get(key, 0) + n
    out = [
        "# HELP shipyard_job_queue_depth Jobs waiting (queued) or running, per pool.",
        "# TYPE shipyard_job_queue_depth gauge",
    ]
    for state in ("queued", "running"):  # both states of every pool: absent means 0
        for pool in sorted({p for p, _ in bounded}):
            labels = _labels([("pool", pool), ("state", state)])
            out.append(f"shipyard_job_queue_depth{labels} {bounded.get((pool, state), 0)}")
    return out


def alert_lines(sent: int, failed: int) -> list[str]:
    return [
        "# HELP shipyard_alert_deliveries_total Alert webhook deliveries by outcome (this process).",
        "# TYPE shipyard_alert_deliveries_total counter",
        f'shipyard_alert_deliveries_total{{outcome="sent"}} {sent}',
        f'shipyard_alert_deliveries_total{{outcome="failed"}} {failed}',
    ]


def online_lines() -> list[str]:
    """This process's online store read latency (``shipyard/_internal/latency.py``)."""
    from shipyard._internal.latency import ONLINE_READS

    counts, total = ONLINE_READS.snapshot()
    name = "shipyard_online_store_read_duration_seconds"
    out = [
        f"# HELP {name} Online feature reads (get_online_features), this process.",
        f"# TYPE {name} histogram",
    ]
    running = 0
    for bound, n in zip((*ONLINE_READS.buckets, float("inf")), counts, strict=True):
        running += n
        out.append(
            f'{name}_bucket{{le="{_num(bound) if bound != float("inf") else "+Inf"}"}} {running}'
        )
    out += [f"{name}_sum {total!r}", f"{name}_count {running}"]
    return out


def render(
    served: tuple[Any, Any] | None,
    reports: list[dict[str, Any]],
    freshness: dict[str, float] | None = None,
    queue: dict[tuple[str, str], int] | None = None,
) -> str:
    """The whole scrape: this process's requests and serving runtime (``served``, or
    ``None`` when it has not served), the newest drift ``reports``, feature freshness,
    the job ``queue``'s depth and alert deliveries."""
    from shipyard.monitoring.alerts import DELIVERIES

    lines = REQUESTS.render() + _serving_lines(served) + _drift_lines(reports)
    lines += freshness_lines(freshness or {})
    lines += queue_lines(queue or {})
    lines += online_lines()
    lines += alert_lines(DELIVERIES.sent, DELIVERIES.failed)
    return "\n".join(lines) + "\n"
