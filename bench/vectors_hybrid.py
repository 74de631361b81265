"""Hybrid (keyword + vector) query cost beside a plain vector query, in-process.

    python bench/vectors_hybrid.py [--n 20000] [--dim 64] [--queries 500]

Builds an HNSW index over ``n`` random-ish rows with a short text column drawn from a
200-word vocabulary, then times ``p.vectors.query`` with and without ``text`` (k = 10,
sequential, one thread): p50/p99 in ms. The first hybrid query builds the FTS5 table
(timed separately).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from shipyard.platform import Platform
from shipyard.vectors import VectorIndexSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=500)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.n, args.dim)).astype(np.float32)
    vocab = [f"w{i}" for i in range(200)]
    texts = [" ".join(rng.choice(vocab, 8)) for _ in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        p = Platform.open(Path(tmp) / "p")
        p.lake.write(
            "gold.items",
            pa.table(
                {
                    "id": np.arange(args.n),
                    "emb": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), args.dim),
                    "txt": texts,
                    "cat": [f"c{i % 10}" for i in range(args.n)],
                }
            ),
        )
        spec = VectorIndexSpec(
            name="items", table="gold.items", id_column="id", vector_column="emb",
            dimension=args.dim, metric="l2", filterable=["cat"], text_column="txt",
            params={"ef_search": 32},
        )  # fmt: skip
        p.vectors.apply([spec])
        p.vectors.build("items")
        q = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
        words = [" ".join(rng.choice(vocab, 2)) for _ in range(args.queries)]
        started = time.perf_counter()
        p.vectors.query("items", q[0], k=10, text=words[0])
        first = time.perf_counter() - started
        out = {"first hybrid query (builds FTS5)": f"{first * 1000:.0f} ms"}
        for label, kwargs in (
            ("plain", lambda i: {}),
            ("hybrid", lambda i: {"text": words[i]}),
            ("hybrid + filter", lambda i: {"text": words[i], "filter": {"cat": "c3"}}),
        ):
            took = []
            for i in range(args.queries):
                t0 = time.perf_counter()
                p.vectors.query("items", q[i], k=10, **kwargs(i))
                took.append(time.perf_counter() - t0)
            ms = np.asarray(took) * 1000
            out[label] = f"p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms"
        p.close()
    for k, v in out.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
