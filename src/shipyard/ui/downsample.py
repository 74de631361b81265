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
    steps = [s for h in histories for s, _ in h[:1] + h[-1:]]
    if not steps:
        return [], [[] for _ in histories]
    low, high = min(steps), max(steps)
    width = max(1.0, (high - low + 1) / buckets)
    count = min(buckets, math.ceil((high - low + 1) / width))
    x = [low + width * (i + f) for i in range(count) for f in (0.0, 0.5)]
    out: list[list[float | None]] = []
    for history in histories:
        lo: list[tuple[int, float] | None] = [None] * count
        hi: list[tuple[int, float] | None] = [None] * count
        for step, value in history:
            if not math.isfinite(value):
                continue
            b = min(count - 1, int((step - low) / width))
            if lo[b] is None or value < lo[b][1]:  # type: ignore[index]
                lo[b] = (step, value)
            if hi[b] is None or value > hi[b][1]:  # type: ignore[index]
                hi[b] = (step, value)
        values: list[float | None] = []
        for a, b in zip(lo, hi, strict=True):
            if a is None or b is None:
                values += [None, None]
            else:
                first, second = (a, b) if a[0] <= b[0] else (b, a)
                values += [first[1], second[1]]
        out.append(values)
    return x, out
