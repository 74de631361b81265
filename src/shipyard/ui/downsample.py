"""Metric histories cut to a few hundred points a series for the compare charts.

Every series of a chart is bucketed over the same step range, so the series share
one x axis (uPlot's aligned data). Each bucket keeps its lowest and highest value, in
step order, so a spike survives the cut (min/max decimation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Buckets per chart; two points a bucket (its min and its max).
BUCKETS = 500


def aligned(
    histories: Sequence[Sequence[tuple[int, float]]], buckets: int = BUCKETS
) -> tuple[list[float], list[list[float | None]]]:
    """``(x, [values per series])`` of ``histories`` ((step, value) pairs, by step).

    At most ``2 * buckets`` points; a series without a value in a bucket has ``None``
    there (the chart leaves a gap). NaN and infinite values are left out.
    """
    steps = [h[i][0] for h in histories if h for i in (0, -1)]
    if not steps:
        return [], [[] for _ in histories]
    low, high = min(steps), max(steps)
    width = max(1.0, (high - low + 1) / buckets)
    count = min(buckets, math.ceil((high - low + 1) / width))
    x = [low + width * (i + f) for i in range(count) for f in (0.0, 0.5)]
    out: list[list[float | None]] = []
    for history in histories:
        out.append(_series(history, low, width, count))
    return x, out


def _series(
    history: Sequence[tuple[int, float]], low: int, width: float, count: int
) -> list[float | None]:
    """Per bucket, its min and max in step order (``None, None`` for an empty bucket)."""
    inf = math.inf
    lo, lo_step = [inf] * count, [0] * count
    hi, hi_step = [-inf] * count, [0] * count
    for step, value in history:
        if not math.isfinite(value):
            continue
        b = min(count - 1, int((step - low) / width))
        if value < lo[b]:
            lo[b], lo_step[b] = value, step
        if value > hi[b]:
            hi[b], hi_step[b] = value, step
    values: list[float | None] = []
    for b in range(count):
        if lo[b] == inf:
            values += [None, None]
        elif lo_step[b] <= hi_step[b]:
            values += [lo[b], hi[b]]
        else:
            values += [hi[b], lo[b]]
    return values
