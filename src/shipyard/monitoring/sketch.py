"""Per-feature profiles from Arrow columns: exact histograms on fixed quantile edges.

DataSketches KLL would give mergeable quantile sketches in bounded memory; it is not
in this environment's package set, so a profile keeps an exact histogram whose edges
are fixed once (the reference's quantiles). Histograms with the same edges merge by
adding counts, which is all drift needs: the current window is binned on the
reference's edges.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.monitoring.models import FeatureProfile

#: Quantile bins of a numeric reference (PSI groups them into deciles).
BINS = 100
#: Values a categorical profile keeps by name (the rest are counted as ``other``).
TOP_K = 100


def is_numeric(typ: pa.DataType) -> bool:
    return (pa.types.is_integer(typ) or pa.types.is_floating(typ)) and not pa.types.is_boolean(typ)


def profilable(typ: pa.DataType) -> bool:
    return (
        is_numeric(typ)
        or pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_boolean(typ)
    )


def numeric_values(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    """(finite float64 values, nulls); NaN counts as null."""
    arr = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    arr = np.asarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    return arr[finite], int(arr.size - finite.sum())


def bin_counts(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in the bins ``edges`` delimit (len(edges) + 1 bins)."""
    # Sort once, then place the edges (few) into the values: searching many unsorted
    # values in the edges is cache-hostile and several times slower.
    ordered = np.sort(values)
    below = np.searchsorted(ordered, edges, side="left")  # values < each edge
    return np.diff(np.concatenate(([0], below, [ordered.size])))


def numeric_profile(name: str, values: np.ndarray, nulls: int, bins: int = BINS) -> FeatureProfile:
    if values.size == 0:
        return FeatureProfile(name=name, kind="numeric", count=0, nulls=nulls, distinct=0)
    # One sort serves the quantiles, the distinct count and the bin counts (three sorts
    # before: 1M x 100 profiled in a third of the time).
    ordered = np.sort(values)
    qs = np.quantile(ordered, np.linspace(0, 1, bins + 1)[1:-1], method="linear")
    edges = np.unique(qs)
    below = np.searchsorted(ordered, edges, side="left")
    return FeatureProfile(
        name=name,
        kind="numeric",
        count=int(values.size),
        nulls=nulls,
        distinct=int(np.count_nonzero(np.diff(ordered)) + 1),
        edges=edges.tolist(),
        counts=np.diff(np.concatenate(([0], below, [ordered.size]))).tolist(),
        min=float(ordered[0]),
        max=float(ordered[-1]),
        mean=float(values.mean()),
        std=float(values.std()),
    )


def category_counts(column: pa.ChunkedArray | pa.Array) -> tuple[dict[str, int], int]:
    """({value: count}, nulls) of a string/boolean column."""
    text = pc.cast(column, pa.string())
    counts = pc.value_counts(text)
    out: dict[str, int] = {}
    nulls = 0
    for value, n in zip(
        counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
    ):
        if value is None:
            nulls = int(n)
        else:
            out[str(value)] = int(n)
    return out, nulls


def categorical_profile(name: str, counts: dict[str, int], nulls: int) -> FeatureProfile:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    top = dict(ranked[:TOP_K])
    return FeatureProfile(
        name=name,
        kind="categorical",
        count=sum(counts.values()),
        nulls=nulls,
        distinct=len(counts),
        top=top,
        other=sum(n for _, n in ranked[TOP_K:]),
    )


def profile_column(name: str, column: Any) -> FeatureProfile:
    if is_numeric(column.type):
        values, nulls = numeric_values(column)
        return numeric_profile(name, values, nulls)
    counts, nulls = category_counts(column)
    return categorical_profile(name, counts, nulls)


def profile_table(table: pa.Table, columns: list[str] | None = None) -> dict[str, FeatureProfile]:
    """Profiles of ``columns`` (default: every numeric, text or boolean column but ``_*``)."""
    names = columns or [
        f.name for f in table.schema if not f.name.startswith("_") and profilable(f.type)
    ]
    return {n: profile_column(n, table.column(n)) for n in names}


def merge(a: FeatureProfile, b: FeatureProfile) -> FeatureProfile:
    """Two profiles of the same feature as one (numeric: only with the same edges).

    ``distinct`` of the merge is a lower bound (the exact union is not kept).
    """
    if a.kind != b.kind or (a.kind == "numeric" and a.edges != b.edges):
        raise ValueError(f"profiles of '{a.name}' have different bins and cannot be merged")
    if a.kind == "categorical":
        counts = dict(a.top)
        for k, n in b.top.items():
            counts[k] = counts.get(k, 0) + n
        merged = categorical_profile(a.name, counts, a.nulls + b.nulls)
        merged.other += a.other + b.other
        merged.distinct = max(a.distinct, b.distinct, merged.distinct)
        return merged
    n = a.count + b.count
    mean = ((a.mean or 0) * a.count + (b.mean or 0) * b.count) / n if n else None
    var = None
    if n and a.std is not None and b.std is not None and mean is not None:
        ex2 = (
            a.count * (a.std**2 + (a.mean or 0) ** 2) + b.count * (b.std**2 + (b.mean or 0) ** 2)
        ) / n
        var = max(ex2 - mean**2, 0.0)
    mins = [x for x in (a.min, b.min) if x is not None]
    maxs = [x for x in (a.max, b.max) if x is not None]
    return FeatureProfile(
        name=a.name,
        kind="numeric",
        count=n,
        nulls=a.nulls + b.nulls,
        distinct=max(a.distinct, b.distinct),
        edges=a.edges,
        counts=[x + y for x, y in zip(a.counts, b.counts, strict=True)],
        min=min(mins) if mins else None,
        max=max(maxs) if maxs else None,
        mean=mean,
        std=var**0.5 if var is not None else None,
    )
