"""Traffic split: a request key hashes to one of 10,000 buckets, buckets map to variants.

The same key lands in the same bucket for as long as the deployment exists, so an
entity sees one variant while the weights stand; when a weight moves, only the
buckets between the old and new boundary change variant.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(key: str, salt: str) -> int:
    """A stable bucket in ``[0, BUCKETS)`` for ``key`` (salted by the deployment name)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, key=salt.encode()[:64]).digest()
    return int.from_bytes(digest, "big") % BUCKETS


class WeightTable:
    """Cumulative weights over the buckets: ``pick(bucket)`` gives a variant index."""

    __slots__ = ("_bounds", "_indexes")

    def __init__(self, weights: Sequence[int]) -> None:
        bounds: list[int] = []
        indexes: list[int] = []
        total = 0
        for i, w in enumerate(weights):
            if w <= 0:
                continue
            total += w
            bounds.append(total * BUCKETS // 100)
            indexes.append(i)
        self._bounds = bounds
        self._indexes = indexes

    def pick(self, b: int) -> int:
        pos = bisect_right(self._bounds, b)
        return self._indexes[min(pos, len(self._indexes) - 1)]
