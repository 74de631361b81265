"""A deployment's window of the inference log, as per-feature arrays.

The window is scanned from the Delta table with a pushed-down Arrow filter, reading
the typed feature columns the log keeps beside the JSON (``feature_values``: numbers,
``feature_labels``: text and booleans, both ``map<string, ...>``). A feature's values
are the map items whose key is that feature: one dictionary encoding of the keys and
one integer comparison per feature, no JSON. Rows logged before those columns existed
(their maps are null) are read from the JSON with Arrow's JSON reader, as before.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.json as pj

from shipyard.monitoring import sketch
from shipyard.monitoring.models import FeatureProfile

TYPED = ["feature_values", "feature_labels"]
COLUMNS = ["model", "model_version", *TYPED, "prediction"]


def scan(
    dt: Any, deployment: str, start: datetime, end: datetime, columns: list[str] = COLUMNS
) -> pa.Table:
    """Served, successful, non-shadow rows of ``deployment`` with ``start <= ts < end``."""
    ts = ds.field("ts")
    where = (
        (ds.field("deployment") == deployment)
        & ~ds.field("shadow")
        & ds.field("error").is_null()
        & (ts >= pa.scalar(start, pa.timestamp("us", tz="UTC")))
        & (ts < pa.scalar(end, pa.timestamp("us", tz="UTC")))
    )
    data = dt.to_pyarrow_dataset()
    if any(c in TYPED for c in columns) and TYPED[0] not in data.schema.names:
        columns = [c for c in columns if c not in TYPED] + ["features"]  # a log from before
    table = data.to_table(columns=columns, filter=where)
    if TYPED[0] in columns and table.column(TYPED[0]).null_count:
        legacy = data.to_table(columns=["features"], filter=where & ds.field(TYPED[0]).is_null())
        table = table.append_column("features", _legacy_column(table, legacy))
    return table


def _legacy_column(table: pa.Table, legacy: pa.Table) -> pa.ChunkedArray:
    """The JSON of the rows without typed features, in their places (null elsewhere)."""
    typed = table.column(TYPED[0]).is_valid().to_numpy(zero_copy_only=False)
    text = np.full(table.num_rows, None, dtype=object)
    text[~typed] = legacy.column("features").to_pylist()
    return pa.chunked_array([pa.array(text, pa.string())])


def served_most(table: pa.Table) -> tuple[str, int] | None:
    """The (model, version) that answered most rows of the window."""
    if table.num_rows == 0:
        return None
    counts = table.group_by(["model", "model_version"]).aggregate([([], "count_all")])
    best = counts.sort_by([("count_all", "descending"), ("model", "ascending")]).slice(0, 1)
    model, version = best.column("model")[0].as_py(), best.column("model_version")[0].as_py()
    return (model, version) if model is not None and version is not None else None


def only_model(table: pa.Table, model: str, version: int) -> pa.Table:
    if table.column("model").unique().to_pylist() == [model] and table.column(
        "model_version"
    ).unique().to_pylist() == [version]:
        return table  # the usual case: one version served the window (no copy)
    keep = pc.and_(
        pc.equal(table.column("model"), model), pc.equal(table.column("model_version"), version)
    )
    return table.filter(keep)


def features(
    table: pa.Table, wanted: dict[str, FeatureProfile]
) -> dict[str, tuple[Any, int] | None]:
    """{feature: (values, nulls)}: numeric -> finite float64 array; categorical -> counts.

    A feature absent from a row (or not a number, for a numeric one) is a null in that
    row; one absent from every row is ``None`` (not served, not checked).
    """
    parts: list[tuple[int, dict[str, pa.Array]]] = []
    if TYPED[0] in table.column_names:
        typed = table.filter(pc.is_valid(table.column(TYPED[0])))
        parts.append((typed.num_rows, _typed(typed)))
    if "features" in table.column_names:
        legacy = table.filter(pc.is_valid(table.column("features")))
        parsed = _parse(legacy.column("features"))
        found = {c: parsed.column(c) for c in parsed.column_names} if parsed else {}
        parts.append((legacy.num_rows, found))
    out: dict[str, tuple[Any, int] | None] = {}
    for name, prof in wanted.items():
        pieces = [(rows, cols[name]) for rows, cols in parts if name in cols]
        if not pieces:
            out[name] = None
        elif prof.kind == "numeric":
            out[name] = _numeric(pieces)
        else:
            out[name] = _categorical(pieces)
    return out


def _typed(table: pa.Table) -> dict[str, pa.Array]:
    """{feature: its values} over the rows' typed maps (numbers and labels)."""
    out: dict[str, pa.Array] = {}
    for col in TYPED[::-1]:  # a name with both numbers and labels keeps the numbers
        chunks = table.column(col).chunks
        maps = pa.concat_arrays(chunks) if chunks else None
        if maps is None or len(maps) == 0:
            continue
        lo, hi = maps.offsets[0].as_py(), maps.offsets[-1].as_py()
        if hi == lo:
            continue  # no row has a value of this type
        keys = maps.keys.slice(lo, hi - lo).dictionary_encode()
        codes = keys.indices.to_numpy(zero_copy_only=False)
        items = maps.items.slice(lo, hi - lo)
        names = keys.dictionary.to_pylist()
        lengths = np.diff(maps.offsets.to_numpy())
        out |= _same_keys(names, codes, lengths, items) or _grouped(names, codes, items)
    return out


def _same_keys(
    names: list[str], codes: np.ndarray, lengths: np.ndarray, items: pa.Array
) -> dict[str, pa.Array] | None:
    """The usual log: every row has the same keys in the same order (a row-major grid),
    so feature ``j`` is every ``k``-th item; ``None`` when the rows differ."""
    k = int(lengths[0]) if lengths.size else 0
    if k == 0 or not (lengths == k).all():
        return None
    grid = codes.reshape(-1, k)
    if not (grid == grid[0]).all():
        return None
    return {
        names[c]: items.take(pa.array(np.arange(j, codes.size, k)))
        for j, c in enumerate(grid[0].tolist())
    }


def _grouped(names: list[str], codes: np.ndarray, items: pa.Array) -> dict[str, pa.Array]:
    """Any rows: one stable sort groups every feature's items, then each is a slice."""
    ordered = items.take(pa.array(np.argsort(codes, kind="stable")))
    ends = np.cumsum(np.bincount(codes, minlength=len(names))).tolist()
    return {
        name: ordered.slice(begin, end - begin)
        for name, begin, end in zip(names, [0, *ends[:-1]], ends, strict=True)
    }


def _numeric(pieces: list[tuple[int, Any]]) -> tuple[np.ndarray, int]:
    arrays, nulls = [], 0
    for rows, column in pieces:
        if not sketch.is_numeric(column.type):
            try:
                column = pc.cast(column, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                nulls += rows  # text where a number was expected: every row is a null
                continue
        values, _ = sketch.numeric_values(column)
        arrays.append(values)
        nulls += rows - values.size
    return (np.concatenate(arrays) if arrays else np.empty(0)), nulls


def _categorical(pieces: list[tuple[int, Any]]) -> tuple[dict[str, int], int]:
    counts: dict[str, int] = {}
    nulls = 0
    for rows, column in pieces:
        found, _ = sketch.category_counts(column)
        for k, n in found.items():
            counts[k] = counts.get(k, 0) + n
        nulls += rows - sum(found.values())
    return counts, nulls


def _parse(column: pa.ChunkedArray) -> pa.Table | None:
    if len(column) == 0:
        return None
    text = "\n".join(s or "{}" for s in column.to_pylist()).encode()
    return pj.read_json(
        io.BytesIO(text),
        read_options=pj.ReadOptions(block_size=max(1 << 20, len(text) // 4 + 1)),
        parse_options=pj.ParseOptions(unexpected_field_behavior="infer"),
    )


def numeric(column: Any) -> tuple[np.ndarray, int]:
    return sketch.numeric_values(column)
