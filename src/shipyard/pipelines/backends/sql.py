"""The job queue in the metadata database: one SQLAlchemy implementation.

PostgreSQL: claimers pick due rows with ``FOR UPDATE SKIP LOCKED``, so concurrent
workers never wait on (or take) each other's rows. SQLite: every write transaction
is ``BEGIN IMMEDIATE`` (see ``_internal/db.py``), so claims are serialized by the
single writer lock. Concurrency limits count running rows at claim time; on
PostgreSQL a claim that a limit applies to first takes a transaction advisory lock,
so two claimers cannot both see the last free slot.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shipyard._internal.clock import as_utc, utcnow
from shipyard._internal.db import Database
from shipyard._internal.ids import new_id
from shipyard._internal.paging import Key, Keyset, Page, keyset_page
from shipyard.errors import Conflict, NotFound
from shipyard.pipelines.backends.base import JobQueue
from shipyard.pipelines.backends.wakeups import JobWakeups
from shipyard.pipelines.models import Job, JobSpec, JobState, backoff_seconds, tail
from shipyard.pipelines.tables import jobs

#: Key of the advisory lock that serializes limit-checked claims on PostgreSQL.
_LIMIT_LOCK = 0x5A1B_0B5
_RUNNING = JobState.RUNNING.value
_QUEUED = JobState.QUEUED.value


def _job(row: Any) -> Job:
    m = dict(row._mapping)
    m["timeout"] = m.pop("timeout_seconds")
    for k in ("run_after", "lease_until", "created_at", "started_at", "finished_at"):
        if m[k] is not None:
            m[k] = as_utc(m[k])
    return Job.model_validate(m)


class SqlJobQueue(JobQueue):
    def __init__(
        self,
        db: Database,
        *,
        pool_limits: dict[str, int] | None = None,
        team_limits: dict[str, int] | None = None,
        notify: bool = True,
    ) -> None:
        """``notify``: on PostgreSQL, announce queued jobs with ``NOTIFY`` and wake
        watching workers on another process's notices (``wakeups.py``)."""
        self._db = db
        self._pg = db.dialect == "postgresql"
        self.pool_limits = dict(pool_limits or {})
        self.team_limits = dict(team_limits or {})
        self._rng = random.Random()
        self._wakeups = JobWakeups(db, notify=notify)

    def watch(self, wake: threading.Event, pools: Sequence[str] | None = None) -> None:
        self._wakeups.watch(wake, pools)

    def unwatch(self, wake: threading.Event) -> None:
        self._wakeups.unwatch(wake)

    @property
    def wakeups(self) -> JobWakeups:
        return self._wakeups

    def close(self) -> None:
        self._wakeups.close()

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self._db.begin() as own:
                yield own

    def _insert(self) -> Any:
        dialect: Any = postgresql if self._pg else sqlite
        return dialect.insert(jobs).on_conflict_do_nothing(
            index_elements=["team", "idempotency_key"]
        )

    # -- producing -------------------------------------------------------------------

    def enqueue(self, spec: JobSpec, *, team: str, created_by: str, conn: Any = None) -> Job:
        return self.enqueue_many([spec], team=team, created_by=created_by, conn=conn)[0]

    def enqueue_many(
        self,
        specs: Sequence[JobSpec],
        *,
        team: str,
        created_by: str,
        conn: Any = None,
        links: Sequence[tuple[str, str]] | None = None,
    ) -> list[Job]:
        now = utcnow()
        rows = [_row(s, team, created_by, now) for s in specs]
        for row, (run_id, step) in zip(rows, links or (), strict=False):
            row["run_id"], row["step"] = run_id, step
        keyed = {r["idempotency_key"] for r in rows if r["idempotency_key"] is not None}
        found: dict[str, Job] = {}
        with self._tx(conn) as c:
            self._wakeups.queued(c, {r["pool"] for r in rows})  # idle workers, at the commit
            if keyed:
                c.execute(self._insert(), rows)
                for chunk in _chunks(sorted(keyed), 500):
                    q = sa.select(jobs).where(
                        jobs.c.team == team, jobs.c.idempotency_key.in_(chunk)
                    )
                    found.update({r.idempotency_key: _job(r) for r in c.execute(q)})
            else:
                c.execute(jobs.insert(), rows)
        out = []
        for r in rows:
            key = r["idempotency_key"]
            out.append(found[key] if key is not None else _job_from_row(r))
        return out

    # -- consuming -------------------------------------------------------------------

    def claim(
        self,
        worker_id: str,
        pools: Sequence[str],
        *,
        limit: int = 1,
        lease_seconds: float = 30.0,
        conn: Any = None,
    ) -> list[Job]:
        if limit < 1 or not pools:
            return []
        now = utcnow()
        limited = bool(self.team_limits) or any(p in self.pool_limits for p in pools)
        with self._tx(conn) as conn:
            if limited and self._pg:
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_LIMIT_LOCK)))
            q = (
                sa.select(jobs.c.id, jobs.c.pool, jobs.c.team)
                .where(jobs.c.state == _QUEUED, jobs.c.pool.in_(list(pools)))
                .where(jobs.c.run_after <= now)
                .order_by(jobs.c.priority.desc(), jobs.c.run_after)
                .limit(limit * 4 + 16 if limited else limit)
            )
            if self._pg:
                q = q.with_for_update(skip_locked=True)
            candidates = conn.execute(q).all()
            ids = (
                self._within_limits(conn, candidates, limit)
                if limited
                else [c.id for c in candidates]
            )
            if not ids:
                return []
            upd = (
                jobs.update()
                .where(jobs.c.id.in_(ids))
                .values(
                    state=_RUNNING,
                    worker_id=worker_id,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=jobs.c.attempts + 1,
                    started_at=now,
                )
                .returning(*jobs.c)
            )
            claimed = [_job(r) for r in conn.execute(upd)]
        claimed.sort(key=lambda j: (-j.priority, j.run_after, j.id))
        return claimed

    def _within_limits(self, conn: Connection, candidates: Sequence[Any], limit: int) -> list[str]:
        q = (
            sa.select(jobs.c.pool, jobs.c.team, sa.func.count())
            .where(jobs.c.state == _RUNNING)
            .group_by(jobs.c.pool, jobs.c.team)
        )
        by_pool: dict[str, int] = {}
        by_team: dict[str, int] = {}
        for pool, team, n in conn.execute(q):
            by_pool[pool] = by_pool.get(pool, 0) + n
            by_team[team] = by_team.get(team, 0) + n
        chosen: list[str] = []
        for c in candidates:
            if len(chosen) >= limit:
                break
            if by_pool.get(c.pool, 0) >= self.pool_limits.get(c.pool, 1 << 30):
                continue
            if by_team.get(c.team, 0) >= self.team_limits.get(c.team, 1 << 30):
                continue
            by_pool[c.pool] = by_pool.get(c.pool, 0) + 1
            by_team[c.team] = by_team.get(c.team, 0) + 1
            chosen.append(c.id)
        return chosen

    def heartbeat(self, job_id: str, worker_id: str, *, lease_seconds: float = 30.0) -> bool:
        with self._db.begin() as conn:
            res = conn.execute(
                self._held(job_id, worker_id).values(
                    lease_until=utcnow() + timedelta(seconds=lease_seconds)
                )
            )
        return res.rowcount == 1

    def _held(self, job_id: str, worker_id: str) -> Any:
        return jobs.update().where(
            jobs.c.id == job_id, jobs.c.worker_id == worker_id, jobs.c.state == _RUNNING
        )

    def complete(
        self, job_id: str, worker_id: str, *, result: Any = None, logs: str | None = None
    ) -> Job:
        with self._db.begin() as conn:
            upd = self._held(job_id, worker_id).values(
                state=JobState.SUCCEEDED.value,
                result=result,
                logs=tail(logs),
                error=None,
                lease_until=None,
                finished_at=utcnow(),
            )
            row = conn.execute(upd.returning(*jobs.c)).first()
        if row is None:
            raise self._lost(job_id, worker_id)
        return _job(row)

    def complete_many(
        self,
        worker_id: str,
        done: Sequence[tuple[str, Any, str | None]],
        *,
        then: Callable[[Any], None] | None = None,
    ) -> int:
        if not done:
            return 0
        now = utcnow()
        params = [
            {
                "_id": job_id,
                "_worker": worker_id,
                "_result": result,
                "_logs": tail(logs),
                "_now": now,
            }
            for job_id, result, logs in done
        ]
        with self._db.begin() as conn:
            res = conn.execute(self._complete_stmt, params)
            if then is not None:
                then(conn)
        return max(0, res.rowcount)

    @functools.cached_property
    def _complete_stmt(self) -> Any:
        return (
            jobs.update()
            .where(
                jobs.c.id == sa.bindparam("_id"),
                jobs.c.worker_id == sa.bindparam("_worker"),
                jobs.c.state == _RUNNING,
            )
            .values(
                state=JobState.SUCCEEDED.value,
                result=sa.bindparam("_result", type_=jobs.c.result.type),
                logs=sa.bindparam("_logs", type_=jobs.c.logs.type),
                error=None,
                lease_until=None,
                finished_at=sa.bindparam("_now", type_=jobs.c.finished_at.type),
            )
        )

    def fail(
        self,
        job_id: str,
        worker_id: str,
        error: str,
        *,
        logs: str | None = None,
        retry: bool = True,
    ) -> Job:
        now = utcnow()
        with self._db.begin() as conn:
            q = sa.select(
                jobs.c.attempts, jobs.c.max_attempts, jobs.c.retry_delay, jobs.c.pool
            ).where(jobs.c.id == job_id, jobs.c.worker_id == worker_id, jobs.c.state == _RUNNING)
            cur = conn.execute(q.with_for_update() if self._pg else q).first()
            if cur is None:
                raise self._lost(job_id, worker_id)
            values: dict[str, Any] = {
                "error": error[:8000],
                "logs": tail(logs),
                "lease_until": None,
            }
            if retry and cur.attempts < cur.max_attempts:
                delay = backoff_seconds(cur.attempts, cur.retry_delay, self._rng)
                values |= {
                    "state": _QUEUED,
                    "worker_id": None,
                    "run_after": now + timedelta(seconds=delay),
                }
                due = (now + timedelta(seconds=delay)).timestamp()
                self._wakeups.queued(conn, [cur.pool], due=due if delay > 0 else None)
            else:
                state = JobState.DEAD if retry else JobState.FAILED
                values |= {"state": state.value, "finished_at": now}
            row = conn.execute(self._held(job_id, worker_id).values(**values).returning(*jobs.c))
            return _job(row.one())

    def _lost(self, job_id: str, worker_id: str) -> Exception:
        job = self.get(job_id)
        return Conflict(
            f"job {job_id} is not held by worker {worker_id} (state {job.state.value}, "
            f"worker {job.worker_id})",
            job_id=job_id,
            state=job.state.value,
        )

    def cancel(self, job_id: str, *, conn: Any = None) -> Job:
        with self._tx(conn) as c:
            q = sa.select(jobs.c.state).where(jobs.c.id == job_id)
            cur = c.execute(q.with_for_update() if self._pg else q).first()
            if cur is None:
                raise NotFound(f"no job {job_id}", job_id=job_id)
            if cur.state in (_QUEUED, _RUNNING):
                c.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id)
                    .values(state=JobState.CANCELLED.value, lease_until=None, finished_at=utcnow())
                )
            elif cur.state != JobState.CANCELLED.value:
                raise Conflict(f"job {job_id} already ended ({cur.state})", job_id=job_id)
            return _job(c.execute(sa.select(jobs).where(jobs.c.id == job_id)).one())

    def requeue_expired(self) -> int:
        now = utcnow()
        with self._db.begin() as conn:
            q = sa.select(
                jobs.c.id, jobs.c.attempts, jobs.c.max_attempts, jobs.c.worker_id, jobs.c.pool
            ).where(jobs.c.state == _RUNNING, jobs.c.lease_until < now)
            if self._pg:
                q = q.with_for_update(skip_locked=True)
            expired = conn.execute(q).all()
            for r in expired:
                error = f"lease expired: worker {r.worker_id} stopped heartbeating"
                values: dict[str, Any] = {"error": error, "lease_until": None, "worker_id": None}
                if r.attempts >= r.max_attempts:
                    values |= {"state": JobState.DEAD.value, "finished_at": now}
                else:
                    values |= {"state": _QUEUED, "run_after": now}
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id == r.id, jobs.c.state == _RUNNING)
                    .values(**values)
                )
            requeued = {r.pool for r in expired if r.attempts < r.max_attempts}
            if requeued:
                self._wakeups.queued(conn, requeued)
        return len(expired)

    # -- reading ---------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        with self._db.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job {job_id}", job_id=job_id)
        return _job(row)

    def list(
        self,
        *,
        state: JobState | None = None,
        pool: str | None = None,
        teams: Sequence[str] | None = None,
        limit: int,
        page_token: str | None = None,
    ) -> Page[Job]:
        q = sa.select(jobs)
        if state is not None:
            q = q.where(jobs.c.state == JobState(state).value)
        if pool is not None:
            q = q.where(jobs.c.pool == pool)
        if teams is not None:
            q = q.where(jobs.c.team.in_(list(teams)))
        keyset = Keyset(
            "jobs.list",
            Key(jobs.c.created_at, descending=True),
            Key(jobs.c.id, descending=True),
        )
        filters = {"state": state and JobState(state).value, "pool": pool, "teams": teams}
        with self._db.connect() as conn:
            rows, token = keyset_page(
                conn, q, keyset, limit=limit, page_token=page_token, filters=filters
            )
        return Page(items=[_job(r) for r in rows], next_page_token=token)


def _row(spec: JobSpec, team: str, created_by: str, now: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "kind": spec.kind,
        "target": spec.target,
        "args": spec.checked_args(),
        "state": _QUEUED,
        "priority": spec.priority,
        "pool": spec.pool,
        "team": team,
        "executor": spec.executor.value,
        "attempts": 0,
        "max_attempts": spec.max_attempts,
        "timeout_seconds": spec.timeout,
        "memory_mb": spec.memory_mb,
        "retry_delay": spec.retry_delay,
        "idempotency_key": spec.idempotency_key,
        "run_after": now,
        "lease_until": None,
        "worker_id": None,
        "error": None,
        "result": None,
        "logs": None,
        "created_by": created_by,
        "created_at": now,
        "started_at": None,
        "finished_at": None,
        "run_id": None,
        "step": None,
    }


def _job_from_row(row: dict[str, Any]) -> Job:
    m = dict(row)
    m["timeout"] = m.pop("timeout_seconds")
    return Job.model_validate(m)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
