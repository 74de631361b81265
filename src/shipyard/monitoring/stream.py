"""Drift over a window that does not fit in memory: Arrow record batches in, bin counts out.

A reference profile's numeric bins are fixed (its quantile edges), so a window's
histogram is a sum of its batches' histograms: ``StreamingDrift.add`` bins one record
batch of many features at once and adds its counts; two accumulators over parts of a
window ``merge`` by addition (one per thread, process or partition). Memory is one batch
plus ``features x bins`` counters, whatever the window's length.

Binning every value of a batch with one vectorized pass over all its features (no
Python loop per feature, no sort): each feature's reference range [min, max] is cut
into ``GRID`` equal cells, and a table gives the bin each cell starts in; a value's
cell is one multiply-add, its bin one lookup; only the values of the few cells that
hold an edge are then compared with the next edge and moved up (exact: the result is
``searchsorted(edges, x, side="right")``, tested against it). Values outside the
reference range fall into the first or last cell, which are always checked.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from shipyard.monitoring import drift
from shipyard.monitoring.models import FeatureDrift, FeatureProfile, Thresholds

#: Cells per feature of the lookup grid (more: fewer values need a correction step).
GRID = 4096


class StreamingDrift:
    """Bin counts of the numeric ``features`` of a stream of batches, against ``reference``."""

    def __init__(self, reference: dict[str, FeatureProfile], features: list[str] | None = None):
        names = features if features is not None else list(reference)
        self.profiles = [
            reference[n] for n in names if reference[n].kind == "numeric" and reference[n].count
        ]
        self.names = [p.name for p in self.profiles]
        k = max((len(p.edges) for p in self.profiles), default=0)
        n = len(self.profiles)
        self.bins = k + 1
        #: Edges padded with +inf to the same length, so a feature's bin ``b`` ends at
        #: ``edges[j, b]``; a row of ``+inf`` past the last bin stops every correction.
        edges = np.full((n, k + 1), np.inf)
        for j, p in enumerate(self.profiles):
            edges[j, : len(p.edges)] = p.edges
        #: One slot past the counters where nulls are binned (its edge is +inf too).
        self._spare = n * (k + 1)
        self._edges_flat = np.append(edges.ravel(), np.inf)
        lo = np.array([p.min if p.min is not None else 0.0 for p in self.profiles])
        hi = np.array([p.max if p.max is not None else 0.0 for p in self.profiles])
        width = np.where(hi > lo, hi - lo, 1.0)
        self._lo = lo[:, None]
        self._scale = (GRID / width)[:, None]
        # Cell c covers [lo + c*w, lo + (c+1)*w); rounding may put a value a hair outside
        # it, so the table takes the bin a little before the cell starts (never too high:
        # the correction only moves up) and a cell counts as holding an edge up to a little
        # past its end.
        cell_w = (width / GRID)[:, None]
        starts = lo[:, None] + np.arange(GRID)[None, :] * cell_w
        below, past = starts - 1e-6 * cell_w, starts + (1 + 1e-6) * cell_w
        table = np.stack([np.searchsorted(edges[j], below[j], side="right") for j in range(n)])
        reach = np.stack([np.searchsorted(edges[j], past[j], side="right") for j in range(n)])
        self._lut = (table + (np.arange(n) * (k + 1))[:, None]).astype(np.intp).ravel()
        offsets = (np.arange(n) * GRID)[:, None]
        self._base = offsets - self._lo * self._scale
        self._first, self._last = offsets, offsets + GRID - 1
        # Values of a cell may pass their table bin only if an edge lies in the cell; the
        # first and last cells also take every value outside the reference's range.
        holds = reach > table
        holds[:, 0] = holds[:, -1] = True
        self._holds_edge = holds.ravel()
        self.counts = np.zeros(n * (k + 1), np.int64)
        self.nulls = np.zeros(n, np.int64)
        self.rows = 0

    def add_matrix(self, values: np.ndarray) -> None:
        """Add a ``features x rows`` float64 block (NaN is a null), in ``self.names`` order."""
        finite = np.isfinite(values)
        missing = values.size - int(np.count_nonzero(finite))
        self.rows += values.shape[1]
        cell = values * self._scale  # the cell in the flat grid: x * scale + base
        cell += self._base
        np.clip(cell, self._first, self._last, out=cell)
        if missing:
            self.nulls += values.shape[1] - finite.sum(axis=1)
            cell[~finite] = 0  # counted below in the spare slot, then dropped
        cells = cell.astype(np.intp).ravel()
        idx = self._lut[cells]
        if missing:
            idx[~finite.ravel()] = self._spare
        # Only values in a cell that holds an edge may lie past their cell's first bin.
        step = np.flatnonzero(self._holds_edge[cells])
        x = values.ravel()
        step = step[x[step] >= self._edges_flat[idx[step]]]
        while step.size:  # move up while a value reaches the end of its bin
            idx[step] += 1
            step = step[x[step] >= self._edges_flat[idx[step]]]
        self.counts += np.bincount(idx, minlength=self.counts.size + 1)[:-1]

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add a record batch holding (at least) the numeric features, by name."""
        cols = [batch.column(n) for n in self.names]
        block = np.empty((len(cols), batch.num_rows))
        for j, col in enumerate(cols):
            arr = col.to_numpy(zero_copy_only=False) if col.null_count == 0 else _with_nan(col)
            block[j] = arr
        self.add_matrix(block)

    def add_all(self, batches: Iterable[pa.RecordBatch]) -> StreamingDrift:
        for b in batches:
            self.add(b)
        return self

    def merge(self, other: StreamingDrift) -> StreamingDrift:
        """Add another accumulator's counts (same reference and features)."""
        if other.names != self.names or other.bins != self.bins:
            raise ValueError("accumulators over different features or bins do not merge")
        self.counts += other.counts
        self.nulls += other.nulls
        self.rows += other.rows
        return self

    def histogram(self, name: str) -> np.ndarray:
        j = self.names.index(name)
        width = len(self.profiles[j].edges) + 1
        return self.counts[j * self.bins : j * self.bins + width]

    def report(self, limits: Thresholds) -> list[FeatureDrift]:
        """Every feature's drift scores from the counts so far."""
        return [
            drift.numeric_drift_counts(p, self.histogram(p.name), int(self.nulls[j]), limits)
            for j, p in enumerate(self.profiles)
        ]


def _with_nan(col: pa.Array | pa.ChunkedArray) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.fill_null(pc.cast(col, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
