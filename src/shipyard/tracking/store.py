"""Tracking persistence on one SQLAlchemy connection (SQLite or PostgreSQL).

The service decides; these functions store and fetch. Every write takes the
caller's connection so that it commits with the audit record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc
from shipyard.errors import Conflict, NotFound
from shipyard.tracking import pg_bulk
from shipyard.tracking.models import Experiment, Metric, Run, RunInput, RunStatus
from shipyard.tracking.pg_bulk import MAX_FLOAT
from shipyard.tracking.tables import (
    ROLLUP_STEPS,
    experiments,
    inputs,
    latest_metrics,
    metric_rollups,
    metrics,
    params,
    runs,
    tags,
)


def _ms(dt: Any) -> int:
    return int(as_utc(dt).timestamp() * 1000)


def encode_value(value: float) -> tuple[float, bool]:
    """``(stored value, is_nan)`` the way MLflow stores NaN and infinities."""
    if math.isnan(value):
        return 0.0, True
    if math.isinf(value):
        return (MAX_FLOAT if value > 0 else -MAX_FLOAT), False
    return value, False


def decode_value(value: float, is_nan: bool) -> float:
    return math.nan if is_nan else value


def experiment_from_row(row: Any) -> Experiment:
    return Experiment(
        id=row.id,
        name=row.name,
        owner=row.owner,
        artifact_location=row.artifact_location,
        lifecycle_stage=row.lifecycle_stage,
        tags=dict(row.tags or {}),
        created_by=row.created_by,
        creation_time=_ms(row.created_at),
        last_update_time=_ms(row.updated_at),
    )


def find_experiment(
    conn: Connection, *, id: str | None = None, name: str | None = None
) -> Experiment | None:
    q = sa.select(experiments)
    q = q.where(experiments.c.id == id) if id is not None else q.where(experiments.c.name == name)
    row = conn.execute(q).first()
    return experiment_from_row(row) if row else None


# Built once: SQLAlchemy memoizes a statement's cache key, so hot queries skip
# rebuilding and re-keying their expression on every call.
_RUN = sa.select(runs).where(runs.c.id == sa.bindparam("run_id"))
_RUN_LOCKED = _RUN.with_for_update()
_IDS: sa.BindParameter[str] = sa.bindparam("ids", expanding=True)
_RUNS = sa.select(runs).where(runs.c.id.in_(_IDS))
_PARAMS = sa.select(params.c.run_id, params.c.key, params.c.value).where(params.c.run_id.in_(_IDS))
_TAGS = sa.select(tags.c.run_id, tags.c.key, tags.c.value).where(tags.c.run_id.in_(_IDS))
_LATEST = (
    sa.select(latest_metrics)
    .where(latest_metrics.c.run_id.in_(_IDS))
    .order_by(latest_metrics.c.run_id, latest_metrics.c.key)
)
_INPUTS = sa.select(inputs).where(inputs.c.run_id.in_(_IDS))


def run_row(conn: Connection, run_id: str, *, lock: bool = False) -> Any:
    q = _RUN_LOCKED if lock and conn.dialect.name == "postgresql" else _RUN
    row = conn.execute(q, {"run_id": run_id}).first()
    if row is None:
        raise NotFound(f"no run with id '{run_id}'", run_id=run_id)
    return row


def run_rows(conn: Connection, run_ids: Sequence[str]) -> list[Any]:
    """The rows of ``run_ids`` in that order, in one query (NotFound names the first
    missing one)."""
    found = {r.id: r for r in conn.execute(_RUNS, {"ids": list(run_ids)})}
    for run_id in run_ids:
        if run_id not in found:
            raise NotFound(f"no run with id '{run_id}'", run_id=run_id)
    return [found[r] for r in run_ids]


def require_active(row: Any) -> None:
    """Refuse writes to runs that are deleted or have ended."""
    if row.lifecycle_stage != "active":
        raise Conflict(f"run '{row.id}' is deleted; restore it first", run_id=row.id)
    if RunStatus(row.status).terminal:
        raise Conflict(
            f"run '{row.id}' has ended ({row.status}); log to a running run",
            run_id=row.id,
            status=row.status,
        )


def load_runs(conn: Connection, rows: Sequence[Any], *, full: bool = True) -> list[Run]:
    """Runs with their params, latest metrics, tags and inputs (4 queries for any number)."""
    ids = [r.id for r in rows]
    p: dict[str, dict[str, str]] = {i: {} for i in ids}
    t: dict[str, dict[str, str]] = {i: {} for i in ids}
    m: dict[str, list[Metric]] = {i: [] for i in ids}
    ins: dict[str, list[RunInput]] = {i: [] for i in ids}
    if ids and full:
        for run_id, key, value in conn.execute(_PARAMS, {"ids": ids}).all():
            p[run_id][key] = value
        for run_id, key, value in conn.execute(_TAGS, {"ids": ids}).all():
            t[run_id][key] = value
        for r in conn.execute(_LATEST, {"ids": ids}).all():
            m[r.run_id].append(  # rows of our own tables: no re-validation on this hot path
                Metric.model_construct(
                    key=r.key,
                    value=decode_value(r.value, r.is_nan),
                    step=r.step,
                    timestamp=r.timestamp,
                )
            )
        for r in conn.execute(_INPUTS, {"ids": ids}).all():
            ins[r.run_id].append(
                RunInput(
                    ref=r.ref,
                    kind=r.kind,
                    name=r.name,
                    version=r.version,
                    context=r.context,
                    digest=r.digest,
                    properties=r.properties or {},
                )
            )
    return [_run(r, p[r.id], t[r.id], m[r.id], ins[r.id]) for r in rows]


def _run(
    r: Any,
    params_: dict[str, str],
    tags_: dict[str, str],
    latest: list[Metric],
    inputs_: list[RunInput],
) -> Run:
    return Run.model_construct(
        id=r.id,
        experiment_id=r.experiment_id,
        name=r.name,
        owner=r.owner,
        user=r.user_name,
        status=RunStatus(r.status),
        lifecycle_stage=r.lifecycle_stage,
        parent_run_id=r.parent_run_id,
        start_time=r.start_time,
        end_time=r.end_time,
        artifact_uri=r.artifact_uri,
        params=params_,
        tags=tags_,
        metrics={x.key: x.value for x in latest},
        latest_metrics=latest,
        inputs=inputs_,
    )


def new_run(values: dict[str, Any], tags_: dict[str, str]) -> Run:
    """The run just inserted with ``values`` (a row's columns): no params, metrics or inputs."""
    return _run(SimpleNamespace(**values), {}, dict(tags_), [], [])


def insert_tags(conn: Connection, run_id: str, values: dict[str, str]) -> None:
    """Tags of a run that has none yet (``upsert_tags`` replaces existing ones)."""
    if values:
        conn.execute(
            tags.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
        )


def insert_params(conn: Connection, run_id: str, values: dict[str, str]) -> None:
    """Params are write-once: the same value again is fine, another value is refused."""
    if not values:
        return
    pg = conn.dialect.name == "postgresql"
    if pg and pg_bulk.insert_new_params(conn, run_id, values) == len(values):
        return  # none was stored before: nothing to compare
    existing = {  # on PostgreSQL this includes the ones just inserted (same values)
        r.key: r.value
        for r in conn.execute(
            sa.select(params.c.key, params.c.value).where(
                params.c.run_id == run_id, params.c.key.in_(list(values))
            )
        )
    }
    for key, value in values.items():
        if key in existing and existing[key] != value:
            raise Conflict(
                f"param '{key}' of run '{run_id}' was already logged as '{existing[key]}'; "
                f"params are write-once (got '{value}')",
                key=key,
                old_value=existing[key],
                new_value=value,
            )
    new = [{"run_id": run_id, "key": k, "value": v} for k, v in values.items() if k not in existing]
    if new and not pg:
        conn.execute(params.insert(), new)


def upsert_tags(conn: Connection, run_id: str, values: dict[str, str]) -> None:
    if not values:
        return
    conn.execute(sa.delete(tags).where(tags.c.run_id == run_id, tags.c.key.in_(list(values))))
    conn.execute(
        tags.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in values.items()]
    )


MetricRow = tuple[str, float, int, int]
"""``(key, value, step, timestamp)`` of one checked metric value."""


def _latest_upsert(dialect: str) -> Any:
    """Insert each key's latest value, or move it forward when (step, time) is not older."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(latest_metrics)
    cur = sa.tuple_(latest_metrics.c.step, latest_metrics.c.timestamp)
    new = sa.tuple_(stmt.excluded.step, stmt.excluded.timestamp)
    return stmt.on_conflict_do_update(
        index_elements=[latest_metrics.c.run_id, latest_metrics.c.key],
        set_={
            "value": stmt.excluded.value,
            "is_nan": stmt.excluded.is_nan,
            "step": stmt.excluded.step,
            "timestamp": stmt.excluded.timestamp,
        },
        where=new >= cur,
    )


_LATEST_UPSERT = {d: _latest_upsert(d) for d in ("postgresql", "sqlite")}


def _rollup_upsert() -> Any:
    """Insert a block's min and max, or widen the stored ones (idempotent: logging the
    same points again leaves the row as it was)."""
    from sqlalchemy.dialects import sqlite

    stmt: Any = sqlite.insert(metric_rollups)
    return stmt.on_conflict_do_update(
        index_elements=[metric_rollups.c.run_id, metric_rollups.c.key, metric_rollups.c.block],
        set_={
            "min_value": sa.func.min(metric_rollups.c.min_value, stmt.excluded.min_value),
            "max_value": sa.func.max(metric_rollups.c.max_value, stmt.excluded.max_value),
        },
    )


_ROLLUP_UPSERT = _rollup_upsert()


def rollup_rows(run_id: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rollup rows of history ``rows``: min and max of the non-NaN values per key and
    block of ``ROLLUP_STEPS`` steps."""
    blocks: dict[tuple[str, int], list[float]] = {}
    for row in rows:
        if row["is_nan"]:
            continue
        value = row["value"]
        cur = blocks.get((row["key"], row["step"] // ROLLUP_STEPS))
        if cur is None:
            blocks[(row["key"], row["step"] // ROLLUP_STEPS)] = [value, value]
        elif value < cur[0]:
            cur[0] = value
        elif value > cur[1]:
            cur[1] = value
    return [
        {"run_id": run_id, "key": k, "block": b, "min_value": lo, "max_value": hi}
        for (k, b), (lo, hi) in blocks.items()
    ]


def insert_metrics(conn: Connection, run_id: str, batch: Iterable[Metric | MetricRow]) -> int:
    """Append to the history, move each key's latest value forward (by step, then time)
    and widen the rollup's blocks (``metric_rollups``).

    PostgreSQL: one statement for any batch; SQLite: the history rows, then one
    upsert per distinct key and one per block.
    """
    items = [
        (mt.key, mt.value, mt.step, mt.timestamp) if isinstance(mt, Metric) else mt for mt in batch
    ]
    if not items:
        return 0
    if conn.dialect.name == "postgresql":
        pg_bulk.log_metrics(conn, run_id, items)
        return len(items)
    rows = []
    latest: dict[str, dict[str, Any]] = {}
    for key, raw, step, stamp in items:
        value, is_nan = encode_value(raw)
        row = {
            "run_id": run_id,
            "key": key,
            "value": value,
            "is_nan": is_nan,
            "step": step,
            "timestamp": stamp,
        }
        rows.append(row)
        cur = latest.get(key)
        if cur is None or (step, stamp) >= (cur["step"], cur["timestamp"]):
            latest[key] = row
    conn.execute(metrics.insert(), rows)
    conn.execute(_LATEST_UPSERT["sqlite"], list(latest.values()))
    rollups = rollup_rows(run_id, rows)
    if rollups:
        conn.execute(_ROLLUP_UPSERT, rollups)
    return len(rows)


def new_points(conn: Connection, run_id: str, batch: list[MetricRow]) -> list[MetricRow]:
    """The rows of ``batch`` that are not already points of the run's history (nor
    repeated earlier in ``batch``): same key, step, timestamp and value."""
    keys = sorted({key for key, *_ in batch})
    steps = [step for _, _, step, _ in batch]
    have: set[tuple[str, int, int, bool, float]] = set()
    for i in range(0, len(keys), 500):
        q = sa.select(
            metrics.c.key, metrics.c.value, metrics.c.is_nan, metrics.c.step, metrics.c.timestamp
        ).where(
            metrics.c.run_id == run_id,
            metrics.c.key.in_(keys[i : i + 500]),
            metrics.c.step.between(min(steps), max(steps)),
        )
        have.update((r.key, r.step, r.timestamp, r.is_nan, r.value) for r in conn.execute(q))
    out = []
    for key, raw, step, stamp in batch:
        value, is_nan = encode_value(raw)
        point = (key, step, stamp, is_nan, value)
        if point not in have:
            have.add(point)
            out.append((key, raw, step, stamp))
    return out


def metric_history(conn: Connection, run_id: str, key: str) -> list[Metric]:
    rows = conn.execute(
        sa.select(
            metrics.c.key, metrics.c.value, metrics.c.is_nan, metrics.c.step, metrics.c.timestamp
        )
        .where(metrics.c.run_id == run_id, metrics.c.key == key)
        .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.id)
    )
    return [
        Metric(key=r.key, value=decode_value(r.value, r.is_nan), step=r.step, timestamp=r.timestamp)
        for r in rows
    ]
