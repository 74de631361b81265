"""PostgreSQL: a whole logging batch as one statement per table.

psycopg's ``executemany`` sends one statement per row; under load every extra
round trip to the server costs more than the statement itself. Here a batch
travels as arrays and is unpacked by ``unnest`` on the server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_METRICS = sa.text(
    """
WITH b AS (
    SELECT k, v, n, s, t, o
    FROM unnest(CAST(:keys AS text[]), CAST(:vals AS float8[]), CAST(:nans AS boolean[]),
                CAST(:steps AS bigint[]), CAST(:stamps AS bigint[]))
         WITH ORDINALITY AS b(k, v, n, s, t, o)
), history AS (
    INSERT INTO tracking_metrics (run_id, key, value, is_nan, step, "timestamp")
    SELECT CAST(:run_id AS text), k, v, n, s, t FROM b ORDER BY o
), rollup AS (
    INSERT INTO tracking_metric_rollups AS r (run_id, key, block, min_value, max_value)
    SELECT CAST(:run_id AS text), k, floor(s / 16.0)::bigint AS blk, min(v), max(v)
    FROM b WHERE NOT n GROUP BY k, blk
    ON CONFLICT (run_id, key, block) DO UPDATE
    SET min_value = LEAST(r.min_value, excluded.min_value),
        max_value = GREATEST(r.max_value, excluded.max_value)
)
INSERT INTO tracking_latest_metrics AS cur (run_id, key, value, is_nan, step, "timestamp")
SELECT DISTINCT ON (k) CAST(:run_id AS text), k, v, n, s, t FROM b ORDER BY k, s DESC, t DESC, o DESC
ON CONFLICT (run_id, key) DO UPDATE
SET value = excluded.value, is_nan = excluded.is_nan, step = excluded.step,
    "timestamp" = excluded."timestamp"
WHERE (excluded.step, excluded."timestamp") >= (cur.step, cur."timestamp")
"""
)

_PARAMS = sa.text(
    "INSERT INTO tracking_params (run_id, key, value) "
    "SELECT CAST(:run_id AS text), k, v FROM unnest(CAST(:keys AS text[]), CAST(:vals AS text[])) "
    "AS b(k, v) ON CONFLICT (run_id, key) DO NOTHING"
)


def log_metrics(conn: Connection, run_id: str, rows: Sequence[tuple[str, float, int, int]]) -> None:
    """Append ``(key, value, step, timestamp)`` rows to the history; move latest values;
    widen the rollup's blocks of 16 steps (``tables.ROLLUP_STEPS``).

    The latest value is the one with the greatest (step, timestamp); on a tie the
    later row of the batch wins, and a stored value is replaced only by one that
    is not older (the rule ``store.insert_metrics`` applies on SQLite). NaN is
    stored as 0 with ``is_nan`` and infinities as +/- the largest float, as MLflow does.
    """
    keys, values, steps, stamps = (list(col) for col in zip(*rows, strict=True))
    nans = [False] * len(values)
    for i, v in enumerate(values):
        if v != v:
            values[i], nans[i] = 0.0, True
        elif v in _INFINITIES:
            values[i] = MAX_FLOAT if v > 0 else -MAX_FLOAT
    conn.execute(
        _METRICS,
        {
            "run_id": run_id,
            "keys": keys,
            "vals": values,
            "nans": nans,
            "steps": steps,
            "stamps": stamps,
        },
    )


#: What MLflow stores for +/- infinity (a float column cannot hold inf everywhere).
MAX_FLOAT = 1.7976931348623157e308
_INFINITIES = (math.inf, -math.inf)


def insert_new_params(conn: Connection, run_id: str, values: dict[str, str]) -> int:
    """Insert the params not stored yet; returns how many were inserted."""
    res = conn.execute(
        _PARAMS, {"run_id": run_id, "keys": list(values), "vals": list(values.values())}
    )
    return int(res.rowcount)
