"""Materialize: the latest row per entity, computed in DuckDB, streamed into the online store.

The latest row is a hash aggregate (``arg_max`` over the ``(event, created)``
struct), never a Python loop; batches of it are packed with numpy and written
in chunks. The store itself refuses to replace a newer value with an older one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shipyard._internal import progress
from shipyard.errors import InvalidArgument
from shipyard.features.backends.base import OnlineStore
from shipyard.features.codec import ValueCodec, micros
from shipyard.features.offline import (
    ViewQuery,
    attach,
    detach,
    literal,
    min_ts,
    q,
    source_sql,
)

BATCH_ROWS = 1_000_000
_NUMERIC = ("float64", "float32", "int64", "int32", "bool")


@dataclass
class MaterializeStats:
    rows: int = 0
    entities: int = 0
    written: int = 0
    max_us: int | None = None
    features: dict[str, dict[str, Any]] = field(default_factory=dict)

    def observe(self, batch: pa.RecordBatch, dtypes: dict[str, str]) -> None:
        for name, dtype in dtypes.items():
            col = batch.column(name)
            s = self.features.setdefault(name, {"count": 0, "nulls": 0, "sum": 0.0})
            s["count"] += len(col)
            s["nulls"] += col.null_count
            if dtype in _NUMERIC and len(col) > col.null_count:
                num = col.cast(pa.float64()) if dtype == "bool" else col
                mm = pc.min_max(num)
                lo, hi = mm["min"].as_py(), mm["max"].as_py()
                s["min"] = lo if s.get("min") is None else min(s["min"], lo)
                s["max"] = hi if s.get("max") is None else max(s["max"], hi)
                s["sum"] += float(pc.sum(num.cast(pa.float64())).as_py() or 0.0)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, s in self.features.items():
            present = s["count"] - s["nulls"]
            out[name] = {
                "null_fraction": s["nulls"] / s["count"] if s["count"] else None,
                "min": s.get("min"),
                "max": s.get("max"),
                "mean": s["sum"] / present if present and "min" in s else None,
            }
        return out


def _latest_sql(vq: ViewQuery, start: datetime | None, end: datetime | None) -> str:
    """Latest row per entity, flat: the join keys, ``__n`` (rows seen), ``__ets``, the features.

    Two hash aggregates and a join, never a window over the whole table: the
    max event time per key, the rows at that time joined back (only the projected
    columns are read from the Parquet files), and on an event-time tie the
    greatest created timestamp (``arg_max`` of the whole row, so no values of two
    rows are mixed). Several times faster in DuckDB than one ``arg_max`` keyed on
    an ``(event, created)`` struct over all rows. ``s`` is NOT MATERIALIZED: DuckDB
    would otherwise buffer every source row once for its two readers (twice the time).
    Rows without a key are skipped. The rows come out ordered by the online store's
    key string (sorting 100k keys here is several times faster than in Arrow), so
    the store's B-tree is filled in order.
    """
    where = ["__ets IS NOT NULL", *(f"{q(k)} IS NOT NULL" for k in vq.join_keys)]
    if start is not None:
        where.append(f"__ets > {literal(start, vq.tz)}")
    if end is not None:
        where.append(f"__ets <= {literal(end, vq.tz)}")
    keys = ", ".join(q(k) for k in vq.join_keys)
    on = " AND ".join(f"s.{q(k)} = m.{q(k)}" for k in vq.join_keys)
    cols = ["__ets", *vq.features]
    record = ", ".join(f"{q(c)}: s.{q(c)}" for c in cols)
    created = f"coalesce(s.__cts, {min_ts(vq.tz)})"
    return (
        f"WITH s AS NOT MATERIALIZED (SELECT * FROM ({source_sql(vq, '__src')}) WHERE {' AND '.join(where)}), "
        f"m AS (SELECT {keys}, max(__ets) AS __mt, count(*) AS __n FROM s GROUP BY ALL), "
        f"j AS (SELECT {', '.join('s.' + q(k) for k in vq.join_keys)}, m.__n, "
        f"arg_max({{{record}}}, {created}) AS __r "
        f"FROM s JOIN m ON {on} AND s.__ets = m.__mt GROUP BY ALL) "
        f"SELECT {keys}, __n, {', '.join('__r.' + q(c) + ' AS ' + q(c) for c in cols)} FROM j "
        f"ORDER BY {_key_string_sql(vq.join_keys)}"
    )


def _key_string_sql(keys: list[str]) -> str:
    """``key_strings`` in DuckDB (for ordering only: the keys written come from Arrow)."""
    parts = [f"CAST({q(k)} AS VARCHAR)" for k in keys]
    return parts[0] if len(parts) == 1 else f"concat_ws(chr(31), {', '.join(parts)})"


def key_strings(batch: pa.RecordBatch | pa.Table, keys: list[str]) -> pa.Array:
    """Entity keys as the online store's strings (``\\x1f`` between parts)."""
    cols = [pc.cast(batch.column(k), pa.string()) for k in keys]
    if len(cols) == 1:
        return cols[0]
    return pc.binary_join_element_wise(*cols, "\x1f")


def materialize_view(
    con: duckdb.DuckDBPyConnection,
    vq: ViewQuery,
    store: OnlineStore,
    ns: str,
    *,
    start: datetime | None,
    end: datetime | None,
) -> MaterializeStats:
    """Write the latest value per entity with an event time in ``(start, end]``."""
    codec = ValueCodec([f for f in vq.view.features if f.name in vq.features])
    dtypes = {f.name: f.dtype for f in vq.view.features}
    stats = MaterializeStats()
    attach(con, "__src", vq.table)
    try:
        reader = con.sql(_latest_sql(vq, start, end)).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            if batch.num_rows == 0:
                continue
            rec = batch  # in key order (see _latest_sql): in-order B-tree inserts are faster
            keys = key_strings(rec, vq.join_keys).to_pylist()
            ts = micros(rec.column("__ets"))
            if codec.fixed:
                blob = codec.encode_fixed_blob(rec)
                stats.written += store.write_packed(ns, keys, ts, blob, codec.size)
            else:
                values = codec.encode_batch(rec)
                stats.written += store.write(ns, zip(keys, ts, values, strict=True))
            stats.rows += int(pc.sum(rec.column("__n")).as_py())
            stats.entities += rec.num_rows
            progress.report(stats.entities)
            top = max(ts)
            stats.max_us = top if stats.max_us is None else max(stats.max_us, top)
            stats.observe(rec, {f: dtypes[f] for f in vq.features})
    except duckdb.Error as exc:
        raise InvalidArgument(
            f"materializing '{vq.view.name}' failed: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        detach(con, "__src", vq.table)
    return stats


def latest_rows(con: duckdb.DuckDBPyConnection, vq: ViewQuery) -> pa.Table:
    """The latest row per entity of the whole source (join keys, ``__n``, ``__ets``, features).

    What materialization writes online, as one Arrow table: indexes over a feature
    view (``shipyard.vectors``) are built from it, so they can always be rebuilt from
    the view's offline data.
    """
    attach(con, "__src", vq.table)
    try:
        return con.sql(_latest_sql(vq, None, None)).to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidArgument(
            f"reading feature view '{vq.view.name}' failed: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        detach(con, "__src", vq.table)
