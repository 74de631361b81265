"""Drift over a window too large for memory: 3M rows x 1,000 features (the #14 target:
under 60 s), streamed as Arrow record batches through ``monitoring.stream.StreamingDrift``.

The reference is profiled column by column (``--ref-rows`` per feature, quantile bins as
at registration). The window is generated batch by batch (``--batch`` rows x
``--features`` float64 columns, 1 % nulls, the first tenth of the features shifted) and
each batch is binned and added; memory stays one batch plus the counters. Generating a
batch is timed apart from binning it, so ``drift_s`` is the cost of drift alone (Arrow
to numpy, binning, adding counts, then the scores of every feature).

A run smaller than the target extrapolates linearly in rows (the work per row is
constant: the counters do not grow), and says so in its output.

Usage: ``python bench/drift_stream.py [--rows 3000000] [--features 1000] [--batch 20000]
[--threads 2] [--check]``. Writes ``bench/results/drift_stream.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from shipyard.monitoring import sketch
from shipyard.monitoring.models import Thresholds
from shipyard.monitoring.stream import StreamingDrift

TARGET_ROWS, TARGET_FEATURES, TARGET_S = 3_000_000, 1000, 60.0


def _batch(rng: np.random.Generator, rows: int, names: list[str]) -> pa.RecordBatch:
    shift = np.zeros(len(names))
    shift[: max(1, len(names) // 10)] = 0.5
    block = rng.normal(size=(len(names), rows)) + shift[:, None]
    block[:, : rows // 100] = np.nan  # 1 % nulls
    return pa.RecordBatch.from_arrays(
        [pa.array(col, from_pandas=True) for col in block], names=names
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=TARGET_ROWS)
    ap.add_argument("--features", type=int, default=TARGET_FEATURES)
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--ref-rows", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="Compare counts with np.searchsorted.")
    args = ap.parse_args()
    names = [f"f{j}" for j in range(args.features)]
    rng = np.random.default_rng(0)
    load0 = os.getloadavg()

    t0 = time.perf_counter()
    reference = {n: sketch.numeric_profile(n, rng.normal(size=args.ref_rows), 0) for n in names}
    profile_s = time.perf_counter() - t0

    parts = [StreamingDrift(reference) for _ in range(args.threads)]
    gen_s, bin_s = 0.0, 0.0
    batches = -(-args.rows // args.batch)
    with ThreadPoolExecutor(args.threads) as pool:
        i = 0
        while i < batches:  # one batch per thread at a time: memory stays `threads` batches
            t = time.perf_counter()
            group = [
                _batch(rng, min(args.batch, args.rows - (i + k) * args.batch), names)
                for k in range(min(args.threads, batches - i))
            ]
            gen_s += time.perf_counter() - t
            t = time.perf_counter()
            list(pool.map(lambda pb: pb[0].add(pb[1]), zip(parts, group, strict=False)))
            bin_s += time.perf_counter() - t
            if args.check and i == 0:
                _check(group[0], reference, names)
            i += len(group)
    t = time.perf_counter()
    total = parts[0]
    for p in parts[1:]:
        total.merge(p)
    report = total.report(Thresholds())
    score_s = time.perf_counter() - t
    drift_s = bin_s + score_s
    drifted = sum(f.drifted for f in report)
    scale = (TARGET_ROWS / args.rows) * (TARGET_FEATURES / args.features)
    out = {
        "rows": args.rows,
        "features": args.features,
        "batch": args.batch,
        "threads": args.threads,
        "reference_rows": args.ref_rows,
        "profile_reference_s": round(profile_s, 2),
        "generate_s (not drift)": round(gen_s, 2),
        "bin_and_add_s": round(bin_s, 2),
        "score_s": round(score_s, 2),
        "drift_s": round(drift_s, 2),
        "ns_per_value": round(drift_s / (args.rows * args.features) * 1e9, 1),
        "drifted_features": drifted,
        "expected_drifted": max(1, args.features // 10),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "extrapolated_3Mx1000_s": round(drift_s * scale, 1),
        "extrapolated": scale != 1,
        "target_s": TARGET_S,
        "load_before": [round(x, 2) for x in load0],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "python": pyplatform.python_version(),
    }
    print(json.dumps(out, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "drift_stream.json").write_text(json.dumps(out, indent=2) + "\n")


def _check(batch: pa.RecordBatch, reference: dict, names: list[str]) -> None:
    one = StreamingDrift(reference)
    one.add(batch)
    for n in names[:50]:
        values = batch.column(n).to_numpy(zero_copy_only=False)
        values = values[np.isfinite(values)]
        expected = sketch.bin_counts(np.asarray(reference[n].edges), values)
        assert (one.histogram(n) == expected).all(), n


if __name__ == "__main__":
    main()
