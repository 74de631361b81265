"""Entity rows in: pandas or Arrow, checked and given a row number and a UTC timestamp."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shipyard.errors import InvalidArgument

DEFAULT_TS = "event_timestamp"


def _tz_kinds(values: Any) -> set[bool]:
    return {v.tzinfo is not None for v in values if isinstance(v, datetime)}


def _pandas_to_arrow(df: Any, ts_col: str) -> pa.Table:
    import pandas as pd

    if ts_col in df.columns and (
        df[ts_col].dtype == object or pd.api.types.is_string_dtype(df[ts_col].dtype)
    ):
        kinds = _tz_kinds(df[ts_col])
        if len(kinds) > 1:
            raise InvalidArgument(
                f"entity column '{ts_col}' mixes naive and time-zone-aware timestamps;"
                " make them all aware (or all naive, read as UTC)",
                column=ts_col,
            )
        try:
            df = df.assign(**{ts_col: pd.to_datetime(df[ts_col], utc=True)})
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(f"entity column '{ts_col}' is not a timestamp: {exc}") from None
    try:
        return frame_to_arrow(df)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InvalidArgument(f"entity rows cannot be converted to Arrow: {exc}") from None


def frame_to_arrow(df: Any) -> pa.Table:
    """``pa.Table.from_pandas`` that converts zone-aware columns without pandas' deprecated path."""
    import pandas as pd

    aware = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    if not aware:
        return pa.Table.from_pandas(df, preserve_index=False)
    table = pa.Table.from_pandas(df.drop(columns=aware), preserve_index=False)
    for c in df.columns:
        if c in aware:
            s = df[c]
            utc = pa.array(s.dt.tz_convert(None).to_numpy())
            col = utc.cast(pa.timestamp(utc.type.unit, tz=str(s.dt.tz)))
            table = table.add_column(list(df.columns).index(c), str(c), col)
    return table


def pick_timestamp_column(table: pa.Table, wanted: str | None) -> str:
    if wanted is not None:
        if wanted not in table.column_names:
            raise InvalidArgument(
                f"entity rows have no timestamp column '{wanted}'"
                f" (columns: {', '.join(table.column_names)})",
                missing=[wanted],
            )
        return wanted
    if DEFAULT_TS in table.column_names:
        return DEFAULT_TS
    stamps = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    if len(stamps) == 1:
        return stamps[0]
    raise InvalidArgument(
        f"entity rows have no timestamp column '{DEFAULT_TS}'"
        f" (columns: {', '.join(table.column_names)}); pass timestamp_column=",
        missing=[DEFAULT_TS],
    )


def to_utc_naive(col: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Timestamps as naive UTC microseconds (naive input is read as UTC)."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        try:
            col = pc.cast(col, pa.timestamp("us", tz="UTC"))
        except pa.ArrowInvalid as exc:
            raise InvalidArgument(f"entity column '{name}' is not a timestamp: {exc}") from None
        t = col.type
    if pa.types.is_date(t):
        col = pc.cast(col, pa.timestamp("us"))
        t = col.type
    if not pa.types.is_timestamp(t):
        raise InvalidArgument(f"entity column '{name}' is {t}, not a timestamp", column=name)
    if t.tz is not None:
        col = pc.cast(col, pa.timestamp("us", tz="UTC"))
    # Dropping the zone keeps the stored UTC instant.
    return col.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))


def prepare_entity_rows(
    data: Any, keys: list[str], timestamp_column: str | None
) -> tuple[pa.Table, str]:
    """Return the rows as Arrow with ``__row`` and ``__ts`` added, and the timestamp name.

    Raises:
        InvalidArgument: a join key or the timestamp is missing, or times mix zones.
    """
    wanted = timestamp_column or DEFAULT_TS
    if isinstance(data, pa.Table):
        table = data
    elif hasattr(data, "columns") and hasattr(data, "dtypes"):
        table = _pandas_to_arrow(data, wanted)
    else:
        raise InvalidArgument(
            "entity rows must be a pandas DataFrame, an Arrow table, a lake table name or SQL"
        )
    ts_col = pick_timestamp_column(table, timestamp_column)
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise InvalidArgument(
            f"entity rows lack join key column(s) {', '.join(missing)}"
            f" (columns: {', '.join(table.column_names)})",
            missing=missing,
        )
    ts = to_utc_naive(table.column(ts_col), ts_col)
    if ts.null_count:
        raise InvalidArgument(f"entity column '{ts_col}' has {ts.null_count} null timestamp(s)")
    n = table.num_rows
    table = table.append_column("__row", pa.array(np.arange(n, dtype=np.int64)))
    return table.append_column("__ts", ts), ts_col
