"""The embedded backend: faiss HNSW (or exact) over vectors kept in memory, saved to one file.

Filtered queries never come back short: the filter is evaluated first (dictionary-coded
columns, one ``np.isin`` each), so the number of matching rows is known. Few matches
(< ``EXACT_BELOW`` rows or < ``EXACT_FRACTION`` of the index) are searched exactly over
that subset, which is both faster and exact there; otherwise HNSW searches with the
matching rows as a faiss ID selector, and a short answer is retried with a four times
wider beam and finally answered exactly. Deleted rows stay in the graph, masked out,
until the dead share passes ``COMPACT_FRACTION`` (then ``save`` rebuilds the graph).

The index is saved as one ``.npz`` blob through ``IndexFiles`` (``files.py``): a local file
replaced by rename, or versioned objects in S3 behind a pointer written last; either way
a crash mid-save leaves the previous version loadable.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.vectors.backends.base import Filter, Neighbours, VectorIndex, filter_values
from shipyard.vectors.backends.files import IndexFiles, LocalIndexFile
from shipyard.vectors.models import HNSW_DEFAULTS, VectorIndexSpec

EXACT_BELOW = 2_000
EXACT_FRACTION = 0.05
COMPACT_FRACTION = 0.3
MAX_EF = 4096
FORMAT = 1


class FaissIndex(VectorIndex):
    """HNSW (``faiss.IndexHNSWFlat``) or exact search, with dictionary-coded filter columns."""

    def __init__(self, spec: VectorIndexSpec, files: IndexFiles | Path) -> None:
        super().__init__(spec)
        self.files = files if isinstance(files, IndexFiles) else LocalIndexFile(files)
        self._ef: int = spec.params.get("ef_search", HNSW_DEFAULTS["ef_search"])
        self._reset()

    # -- content -------------------------------------------------------------------

    def _reset(self) -> None:
        d = self.spec.dimension
        self._ids: list[Any] = []
        self._pos: dict[Any, int] = {}
        self._vectors = np.empty((0, d), dtype=np.float32)
        self._alive = np.empty(0, dtype=bool)
        self._codes: dict[str, np.ndarray] = {
            c: np.empty(0, np.int32) for c in self.spec.filterable
        }
        self._dicts: dict[str, dict[Any, int]] = {c: {} for c in self.spec.filterable}
        self._hnsw: Any = self._new_graph()
        self._id_array: np.ndarray | None = None  # ids by position, built at the first query

    def _new_graph(self) -> Any:
        if self.spec.index_type != "hnsw":
            return None
        p = self.spec.build_params()
        metric = faiss.METRIC_L2 if self.spec.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        graph = faiss.IndexHNSWFlat(self.spec.dimension, p["m"], metric)
        graph.hnsw.efConstruction = p["ef_construction"]
        graph.hnsw.efSearch = p["ef_search"]
        return graph

    def _prepare(self, ids: Sequence[Any], vectors: np.ndarray) -> np.ndarray:
        arr = self.check_vectors(ids, vectors)
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, int | str | np.integer):
                raise InvalidArgument(f"ids must be integers or strings, got {i!r}")
        if len(set(ids)) != len(ids):
            raise InvalidArgument(f"index '{self.spec.name}': duplicate ids in one batch")
        if self.spec.metric == "cosine":
            norms = np.linalg.norm(arr, axis=1, keepdims=True)
            if (norms == 0).any():
                first = ids[int(np.argmax(norms.reshape(-1) == 0))]
                raise InvalidArgument(f"id {first!r}: a zero vector has no cosine direction")
            arr = arr / norms
        return np.ascontiguousarray(arr, dtype=np.float32)

    def build(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        arr = self._prepare(ids, vectors)
        self._reset()
        self._append(list(ids), arr, attrs)

    def upsert(
        self, ids: Sequence[Any], vectors: np.ndarray, attrs: Mapping[str, Sequence[Any]]
    ) -> None:
        arr = self._prepare(ids, vectors)
        self.delete(ids)
        self._append(list(ids), arr, attrs)

    def _append(self, ids: list[Any], arr: np.ndarray, attrs: Mapping[str, Sequence[Any]]) -> None:
        ids = [int(i) if isinstance(i, np.integer) else i for i in ids]
        start = len(self._ids)
        self._id_array = None
        self._ids.extend(ids)
        self._pos.update({i: start + n for n, i in enumerate(ids)})
        self._vectors = np.vstack([self._vectors, arr]) if start else arr
        self._alive = np.concatenate([self._alive, np.ones(len(ids), dtype=bool)])
        for column in self.spec.filterable:
            values = attrs.get(column)
            if values is None or len(values) != len(ids):
                raise InvalidArgument(
                    f"index '{self.spec.name}': filterable column '{column}' "
                    "is missing or has the wrong length"
                )
            lookup = self._dicts[column]
            codes = np.fromiter(
                (lookup.setdefault(_key(v), len(lookup)) for v in values),
                dtype=np.int32,
                count=len(ids),
            )
            self._codes[column] = np.concatenate([self._codes[column], codes])
        if self._hnsw is not None and len(ids):
            self._hnsw.add(arr)

    def delete(self, ids: Sequence[Any]) -> int:
        gone = 0
        for i in ids:
            pos = self._pos.pop(int(i) if isinstance(i, np.integer) else i, None)
            if pos is not None:
                self._alive[pos] = False
                gone += 1
        return gone

    def count(self) -> int:
        return len(self._pos)

    def get_vector(self, id: Any) -> np.ndarray | None:
        pos = self._pos.get(id)
        return None if pos is None else self._vectors[pos].copy()

    # -- queries ---------------------------------------------------------------------

    def _mask(self, filter: Filter | None) -> np.ndarray | None:
        """Rows that may answer: alive and matching (``None``: every row)."""
        mask = None if len(self._pos) == len(self._ids) else self._alive.copy()
        for column, value in (filter or {}).items():
            lookup = self._dicts[column]
            wanted = [lookup[k] for k in map(_key, filter_values(value)) if k in lookup]
            codes = self._codes[column]
            if len(wanted) == 1:
                hit = codes == wanted[0]
            else:
                hit = np.isin(codes, np.asarray(wanted, dtype=np.int32))
            mask = hit if mask is None else mask & hit
        return mask

    def query(self, vector: np.ndarray, k: int, filter: Filter | None = None) -> Neighbours:
        # The common case in one frame (each Python call costs ~0.5 us beside a ~15 us
        # search): no filter, no deleted rows, a beam of ef_search, a finite vector of the
        # right shape. Anything else, including every error, takes the general path.
        total = len(self._ids)
        if (
            not filter
            and type(k) is int
            and 0 < k <= self._ef
            and EXACT_BELOW < total == len(self._pos)
            and self._hnsw is not None
            and self.spec.metric != "cosine"
        ):
            q = np.asarray(vector, dtype=np.float32)
            if q.shape == (self.spec.dimension,) and np.isfinite(q).all():
                dist, labels = self._search(q, k)
                if labels[-1] >= 0:  # unfilled slots (-1) sort last
                    return self._answer(labels, dist, total, "hnsw")
        return self._query(vector, k, filter)

    def _query(self, vector: np.ndarray, k: int, filter: Filter | None) -> Neighbours:
        q = self.check_query(vector, k, filter)
        if self.spec.metric == "cosine":
            n = float(np.linalg.norm(q))
            if n == 0:
                raise InvalidArgument("a zero query vector has no cosine direction")
            q = q / n
        mask = self._mask(filter)
        total = len(self._ids)
        matched = total if mask is None else int(mask.sum())
        if matched == 0:
            return Neighbours([], [], 0, "exact")
        few = matched <= max(k, EXACT_BELOW) or matched < EXACT_FRACTION * total
        if self._hnsw is None or few:
            return self._exact(q, k, mask, matched)
        want = min(k, matched)
        ef = max(self._ef, k)
        if mask is None and ef == self._ef:  # the common case: no per-query parameters
            dist, labels = self._search(q, k)
            # unfilled slots (-1) sort last: the last slot filled means all were
            if labels[-1] >= 0:
                return self._answer(labels, dist, matched, "hnsw")
        bits = None if mask is None else np.packbits(mask, bitorder="little")
        # faiss reads ``bits`` through a raw pointer: it stays referenced until the search ends
        sel = None if bits is None else faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
        while ef <= MAX_EF:
            params = faiss.SearchParametersHNSW(efSearch=ef, sel=sel)  # type: ignore[attr-defined]
            dist, labels = self._hnsw.search(q.reshape(1, -1), k, params=params)
            found = labels[0] >= 0
            if found.sum() >= want:
                return self._answer(labels[0][found], dist[0][found], matched, "hnsw")
            ef *= 4
        return self._exact(q, k, mask, matched)

    def _search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The graph's search without faiss's Python wrapper (its checks cost as much as a
        16-wide search): ``q`` is a checked contiguous float32 vector of the right length."""
        dist = np.empty(k, dtype=np.float32)
        labels = np.empty(k, dtype=np.int64)
        q = np.ascontiguousarray(q, dtype=np.float32)
        self._hnsw.search_c(1, _ptr(q), k, _ptr(dist), _ptr(labels), None)
        return dist, labels

    def _exact(self, q: np.ndarray, k: int, mask: np.ndarray | None, matched: int) -> Neighbours:
        # faiss's own SIMD scan: a multithreaded BLAS matvec is slower on a busy machine.
        rows = None if mask is None else np.flatnonzero(mask)
        vecs = self._vectors[: len(self._ids)] if rows is None else self._vectors[rows]
        metric = faiss.METRIC_L2 if self.spec.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        k = min(k, len(vecs))
        raw, top = faiss.knn(q.reshape(1, -1), vecs, k, metric=metric)
        labels = top[0] if rows is None else rows[top[0]]
        return self._answer(labels, raw[0], matched, "exact")

    def _answer(self, labels: np.ndarray, raw: np.ndarray, matched: int, method: str) -> Neighbours:
        if self.spec.metric == "l2":  # the graph's distances are sums of squares; BLAS's may dip
            dist = np.sqrt(raw if method == "hnsw" else np.maximum(raw, 0))
        elif self.spec.metric == "cosine":
            dist = 1.0 - raw
        else:
            dist = -raw
        if self._id_array is None:
            self._id_array = _id_array(self._ids)
        ids = (
            self._id_array[labels].tolist()
            if self._id_array.dtype.kind == "i"
            else [self._ids[i] for i in labels.tolist()]
        )
        return Neighbours(ids, dist.tolist(), matched, method)

    # -- persistence ---------------------------------------------------------------------

    def _compact(self) -> None:
        live = np.flatnonzero(self._alive)
        ids = [self._ids[i] for i in live]
        vectors = self._vectors[live]
        attrs = {}
        for c in self.spec.filterable:
            inverse = {v: _unkey(k) for k, v in self._dicts[c].items()}
            attrs[c] = [inverse[int(code)] for code in self._codes[c][live]]
        self._reset()
        self._append(ids, vectors, attrs)

    def save(self, table_version: int | None) -> None:
        dead = len(self._ids) - len(self._pos)
        if dead and dead > COMPACT_FRACTION * len(self._ids):
            self._compact()
        meta = {
            "format": FORMAT,
            "table_version": table_version,
            "spec": self.spec.model_dump(),
            "dicts": {c: list(d) for c, d in self._dicts.items()},
        }
        ids = self._ids
        str_ids = any(isinstance(i, str) for i in ids)
        arrays: dict[str, np.ndarray] = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "ids": np.asarray(
                [str(i) for i in ids] if str_ids else ids, dtype=None if str_ids else np.int64
            ),
            "vectors": self._vectors,
            "alive": self._alive,
            **{f"codes_{c}": a for c, a in self._codes.items()},
        }
        if self._hnsw is not None:
            arrays["graph"] = faiss.serialize_index(self._hnsw)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]
        self.files.write(buf.getvalue())

    def load(self) -> int | None:
        saved = self.files.read()
        if saved is None:
            self._reset()
            return None
        with np.load(io.BytesIO(saved), allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("format") != FORMAT:
                raise InvalidArgument(f"index file {self.files.where()} has an unknown format")
            self._reset()
            self._ids = (
                [str(i) for i in data["ids"]]
                if data["ids"].dtype.kind == "U"
                else data["ids"].tolist()
            )
            self._vectors = np.ascontiguousarray(data["vectors"], dtype=np.float32)
            self._alive = data["alive"].copy()
            self._pos = {self._ids[i]: i for i in np.flatnonzero(self._alive).tolist()}
            for c in self.spec.filterable:
                self._codes[c] = data[f"codes_{c}"].copy()
                self._dicts[c] = {_hashable(k): n for n, k in enumerate(meta["dicts"][c])}
            if "graph" in data and self._hnsw is not None:
                self._hnsw = faiss.deserialize_index(data["graph"].copy())
                self._hnsw.hnsw.efSearch = self._ef
        version = meta.get("table_version")
        return int(version) if version is not None else None


_ptr = faiss.swig_ptr


def _id_array(ids: list[Any]) -> np.ndarray:
    """Positions to ids as an int64 array when every id is an integer (else object)."""
    if all(type(i) is int for i in ids):
        try:
            return np.asarray(ids, dtype=np.int64)
        except OverflowError:
            pass
    return np.asarray([0], dtype=object)


def _key(value: Any) -> Any:
    """A dictionary key that keeps 1 and True and "1" apart, and is JSON-storable."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("num", float(value))
    return (type(value).__name__, value)


def _hashable(stored: Any) -> Any:
    return tuple(stored) if isinstance(stored, list) else stored


def _unkey(key: Any) -> Any:
    return key[1]
