"""A drift window of the inference log read in record batches, never whole.

``run_drift`` reads its window here (ADR 0037): one scan of ``model``/``model_version``
counts the rows and finds the model version that served most of them; a second streams
that version's rows in batches of ``BATCH_ROWS`` with only the feature columns (typed
maps; then, for rows logged before them, the JSON column) and adds each batch to
counters: numeric features into a ``StreamingDrift`` (bin counts in the reference's
bins), categorical ones into value counts. Memory is one batch plus the counters,
whatever the window's length; the scores are the same as over the whole window
because the bins are fixed by the reference (tested against ``window.features``).

Nulls follow ``window.features``: a feature found in some rows of a part (typed or
legacy) counts the other rows of that part as nulls; a feature found in no row at all
is not checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds

from shipyard.monitoring import drift, window
from shipyard.monitoring.models import FeatureDrift, FeatureProfile, Thresholds
from shipyard.monitoring.stream import StreamingDrift

#: Rows per record batch (x features x 8 bytes is the largest block held).
BATCH_ROWS = 65_536
PARTS = ("typed", "legacy")
#: Decode one file and a few batches ahead (Arrow's defaults, 4 files and 16 batches,
#: hold several row groups of map columns at once).
READAHEAD = {"fragment_readahead": 1, "batch_readahead": 2}


def _where(deployment: str, start: datetime, end: datetime) -> Any:
    ts = ds.field("ts")
    return (
        (ds.field("deployment") == deployment)
        & ~ds.field("shadow")
        & ds.field("error").is_null()
        & (ts >= pa.scalar(start, pa.timestamp("us", tz="UTC")))
        & (ts < pa.scalar(end, pa.timestamp("us", tz="UTC")))
    )


def served(dt: Any, deployment: str, start: datetime, end: datetime) -> tuple[int, Counter]:
    """(rows in the window, {(model, version): rows}), counted batch by batch."""
    data = dt.to_pyarrow_dataset()
    counts: Counter[tuple[str, int]] = Counter()
    rows = 0
    scanner = data.scanner(
        columns=["model", "model_version"],
        filter=_where(deployment, start, end),
        batch_size=BATCH_ROWS,
        **READAHEAD,
    )
    for batch in scanner.to_batches():
        rows += batch.num_rows
        if batch.num_rows == 0:
            continue
        grouped = (
            pa.table(batch).group_by(["model", "model_version"]).aggregate([([], "count_all")])
        )
        for m, v, n in zip(*(grouped.column(i).to_pylist() for i in range(3)), strict=True):
            counts[(m, v)] += n
    return rows, counts


def served_most(counts: Counter) -> tuple[str, int] | None:
    """The (model, version) with the most rows, ties by model name; None when that is
    a null model (as ``window.served_most``)."""
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda kn: (-kn[1], kn[0][0] is None, kn[0][0] or ""))
    model, version = ranked[0][0]
    return (model, version) if model is not None and version is not None else None


def batches(
    dt: Any, deployment: str, start: datetime, end: datetime, model: str, version: int
) -> Iterator[tuple[str, pa.Table]]:
    """(part, batch) of the model version's rows: typed rows, then legacy JSON rows."""
    data = dt.to_pyarrow_dataset()
    where = _where(deployment, start, end) & (ds.field("model") == model)
    where &= ds.field("model_version") == version
    typed = window.TYPED[0] in data.schema.names
    scans = [("legacy", ["features"], where)]
    if typed:
        scans = [
            ("typed", window.TYPED, where & ds.field(window.TYPED[0]).is_valid()),
            ("legacy", ["features"], where & ds.field(window.TYPED[0]).is_null()),
        ]
    for part, columns, filt in scans:
        scanner = data.scanner(columns=columns, filter=filt, batch_size=BATCH_ROWS, **READAHEAD)
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield part, pa.table(batch)


class WindowDrift:
    """Counters of a window's features against their reference profiles."""

    def __init__(self, reference: dict[str, FeatureProfile]) -> None:
        self.reference = reference
        numeric = [n for n, p in reference.items() if p.kind == "numeric" and p.count]
        self.numeric = StreamingDrift(reference, numeric)
        self.categories: dict[str, Counter[str]] = {
            n: Counter() for n, p in reference.items() if p.kind != "numeric"
        }
        self.nulls: Counter[str] = Counter()
        self.absent: dict[str, Counter[str]] = {part: Counter() for part in PARTS}
        self.seen: dict[str, set[str]] = {part: set() for part in PARTS}

    def add(self, part: str, batch: pa.Table) -> None:
        rows = batch.num_rows
        if part == "typed":
            cols = window._typed(batch)
        else:
            parsed = window._parse(batch.column("features"))
            cols = {c: parsed.column(c) for c in parsed.column_names} if parsed else {}
        block = np.full((len(self.numeric.names), rows), np.nan)
        for name in self.reference:
            if name not in cols:
                self.absent[part][name] += rows
                continue
            self.seen[part].add(name)
            if name in self.categories:
                found, nulls = window._categorical([(rows, cols[name])])
                self.categories[name].update(found)
            else:
                values, nulls = window._numeric([(rows, cols[name])])
                if name in self.numeric.names:
                    block[self.numeric.names.index(name), : values.size] = values
            self.nulls[name] += nulls
        if self.numeric.names:
            self.numeric.add_matrix(block)

    def report(self, limits: Thresholds) -> list[FeatureDrift]:
        """Every feature found in the window, in the reference's order (as ``window``)."""
        out = []
        for name, prof in self.reference.items():
            parts = [part for part in PARTS if name in self.seen[part]]
            if not parts:
                continue
            nulls = self.nulls[name] + sum(self.absent[part][name] for part in parts)
            if name in self.categories:
                out.append(
                    drift.categorical_drift(prof, dict(self.categories[name]), nulls, limits)
                )
            elif name in self.numeric.names:
                hist = self.numeric.histogram(name)
                out.append(drift.numeric_drift_counts(prof, hist, nulls, limits))
        return out
