"""The compare charts' data: a metric's buckets (``TrackingService.metric_buckets``, min
and max per step range, aggregated in the database) as uPlot's aligned series.

Every run shares the buckets, so the series share one x axis. Each bucket gives two
points, its min and max, ordered so that the line runs on from the previous bucket
(a falling curve draws max then min): a spike survives the cut.
"""

from __future__ import annotations

from shipyard.tracking.models import MetricBuckets


def aligned(
    found: MetricBuckets, run_ids: list[str]
) -> tuple[list[float], list[list[float | None]]]:
    """``(x, [values per run])``: two points a bucket (one when a bucket is one step);
    ``None`` where a run has no value in a bucket (the chart leaves a gap)."""
    per = 2 if found.width > 1 else 1
    halves = (0.0, 0.5)[:per]
    x = [found.start + found.width * (b + f) for b in range(found.count) for f in halves]
    series = []
    for run_id in run_ids:
        values: list[float | None] = [None] * (found.count * per)
        last: float | None = None
        for b, lo, hi in found.runs.get(run_id, []):
            if per == 1:
                values[b] = lo
            elif last is not None and last > (lo + hi) / 2:
                values[2 * b], values[2 * b + 1] = hi, lo
            else:
                values[2 * b], values[2 * b + 1] = lo, hi
            last = values[b * per + per - 1]
        series.append(values)
    return x, series
