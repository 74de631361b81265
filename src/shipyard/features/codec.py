"""One packed value per entity and view.

Views whose features are all numbers or booleans pack into a fixed ``struct``
layout (null flags, then the values), encoded a whole Arrow batch at a time
with numpy and decoded with one ``Struct.unpack``; views with strings or
timestamps pack as a JSON array (orjson).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.features.models import Feature

_FIXED = {"float64": "d", "float32": "f", "int64": "q", "int32": "i", "bool": "?"}
_NP = {"float64": "<f8", "float32": "<f4", "int64": "<i8", "int32": "<i4", "bool": "?"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(col: pa.ChunkedArray | pa.Array) -> list[int]:
    """Timestamps as integer microseconds since the epoch (UTC)."""
    return pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64()).to_pylist()


class ValueCodec:
    """Encode rows of a view's features to bytes and back."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.names = [f.name for f in features]
        self.dtypes = [f.dtype for f in features]
        self.n = len(self.names)
        self.fixed = all(d in _FIXED for d in self.dtypes)
        if self.fixed:
            fmt = "<" + "?" * self.n + "".join(_FIXED[d] for d in self.dtypes)
            self._struct = struct.Struct(fmt)
            fields = [(f"n{i}", "?") for i in range(self.n)]
            fields += [(f"v{i}", _NP[d]) for i, d in enumerate(self.dtypes)]
            self._np = np.dtype(fields)
            assert self._np.itemsize == self._struct.size
        self._ts_pos = [i for i, d in enumerate(self.dtypes) if d == "timestamp"]

    # -- encode ----------------------------------------------------------------------

    def encode_batch(self, batch: pa.Table | pa.RecordBatch) -> list[bytes]:
        """One packed value per row of ``batch`` (which holds the feature columns)."""
        if self.fixed:
            return self._encode_fixed(batch)
        cols = []
        for name, dtype in zip(self.names, self.dtypes, strict=True):
            col = batch.column(name)
            cols.append(micros(col) if dtype == "timestamp" else col.to_pylist())
        return [orjson.dumps(row) for row in zip(*cols, strict=True)]

    def _encode_fixed(self, batch: pa.Table | pa.RecordBatch) -> list[bytes]:
        raw = self.encode_fixed_blob(batch)
        size = self._struct.size
        return [raw[j : j + size] for j in range(0, len(raw), size)]

    @property
    def size(self) -> int:
        """Bytes per packed value of a fixed layout."""
        return self._struct.size

    def encode_fixed_blob(self, batch: pa.Table | pa.RecordBatch) -> bytes:
        """The packed values of every row of ``batch``, back to back (fixed layouts only)."""
        n = batch.num_rows
        arr = np.zeros(n, dtype=self._np)
        for i, (name, dtype) in enumerate(zip(self.names, self.dtypes, strict=True)):
            col = batch.column(name)
            if col.null_count:
                arr[f"n{i}"] = col.is_null().to_numpy(zero_copy_only=False)
                col = col.fill_null(False if dtype == "bool" else 0)
            arr[f"v{i}"] = col.to_numpy(zero_copy_only=False)
        return arr.tobytes()

    def encode_row(self, values: Sequence[Any]) -> bytes:
        """Pack one row of Python values (pushes)."""
        if self.fixed:
            flags = [v is None for v in values]
            filled = [
                (False if d == "bool" else 0) if v is None else v
                for v, d in zip(values, self.dtypes, strict=True)
            ]
            return self._struct.pack(*flags, *filled)
        out = list(values)
        for i in self._ts_pos:
            v = out[i]
            if isinstance(v, datetime):
                aware = v if v.tzinfo else v.replace(tzinfo=UTC)
                out[i] = (aware - _EPOCH) // timedelta(microseconds=1)
        return orjson.dumps(out)

    # -- decode ----------------------------------------------------------------------

    def decode(self, payload: bytes) -> list[Any]:
        if self.fixed:
            vals = self._struct.unpack(payload)
            n = self.n
            if True in vals[:n]:
                return [None if vals[i] else vals[n + i] for i in range(n)]
            return list(vals[n:])
        out = orjson.loads(payload)
        for i in self._ts_pos:
            if out[i] is not None:
                out[i] = _EPOCH + timedelta(microseconds=out[i])
        return out
