"""The prediction spool (ADR 0052): blocks reach the inference log once, whoever flushes,
whenever a flush dies; the scheduler queues the flush as a job when there is something
to flush. Run on SQLite and on PostgreSQL (``integration``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shipyard import step_actions
from shipyard.platform import Platform
from shipyard.serving.log_jobs import log_flushes
from shipyard.serving.predlog import LOG_TABLE, lake_writer, to_arrow
from shipyard.serving.spool import LeaseLost, PredictionSpool


@pytest.fixture
def p(platform: Platform) -> Platform:
    return platform


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def any_p(request: pytest.FixtureRequest, project_dir: Path) -> Iterator[Platform]:
    """SQLite and PostgreSQL, for what depends on the database's locking."""
    overrides: dict[str, Any] = {}
    if request.param == "postgresql":
        overrides = {"catalog": {"url": request.getfixturevalue("pg_url")}}
    platform = Platform.open(project_dir, **overrides)
    yield platform
    platform.close()


def block(n: int, start: int = 0) -> pa.Table:
    """``n`` logged predictions of deployment ``churn`` (request ids ``r<start>``...)."""
    now = time.time()
    records = [
        {
            "request_id": f"r{i}",
            "row": 0,
            "ts": now,
            "deployment": "churn",
            "deployment_version": 1,
            "variant": "a",
            "shadow": False,
            "model": "churn",
            "model_version": 1,
            "entity_key": f"customer_id={i}",
            "routing_key": None,
            "features": {"f0": float(i)},
            "prediction": i / 1000,
            "latency_ms": 1.0,
            "error": None,
        }
        for i in range(start, start + n)
    ]
    return to_arrow(records)


def logged(p: Platform) -> list[str]:
    if not p.lake.storage.exists(LOG_TABLE):
        return []
    return sorted(p.lake.read(LOG_TABLE).column("request_id").to_pylist())


def ids(a: int, b: int) -> list[str]:
    return sorted(f"r{i}" for i in range(a, b))


def test_blocks_reach_the_log_once_in_one_append(p: Platform) -> None:
    spool = PredictionSpool(p.context.db)
    spool.put(block(3), "b1")
    spool.put(block(3), "b1")  # a retried put (its first attempt did land): nothing more
    spool.put(block(2, start=3), "b2")
    assert spool.pending() == (2, 5) and spool.has_pending()
    write = lake_writer(lambda: p.lake)
    assert spool.flush(write) == 5
    assert logged(p) == ids(0, 5) and spool.pending() == (0, 0)
    assert p.lake.get_table(LOG_TABLE).version == 0  # one commit for both blocks
    assert spool.flush(write) == 0  # nothing left, nothing written


def test_a_flush_that_dies_after_its_commit_is_not_written_twice(any_p: Platform) -> None:
    spool = PredictionSpool(any_p.context.db)
    spool.put(block(4), "b1")
    real = lake_writer(lambda: any_p.lake)

    def commits_then_dies(table: pa.Table, batch_id: str) -> None:
        real(table, batch_id)
        raise KeyboardInterrupt  # killed between the Delta commit and the delete

    with pytest.raises(KeyboardInterrupt):
        spool.flush(commits_then_dies)
    assert logged(any_p) == ids(0, 4) and spool.pending() == (1, 4)
    spool.put(block(2, start=4), "b2")  # more arrived meanwhile
    assert spool.flush(real) == 6  # the dead batch again (skipped by the lake), then b2
    assert logged(any_p) == ids(0, 6) and spool.pending() == (0, 0)


def test_a_flush_that_dies_before_its_commit_loses_nothing(p: Platform) -> None:
    spool = PredictionSpool(p.context.db)
    spool.put(block(4), "b1")

    def dies(table: pa.Table, batch_id: str) -> None:
        raise OSError("lake unreachable")

    with pytest.raises(OSError):
        spool.flush(dies)
    assert logged(p) == [] and spool.pending() == (1, 4)
    assert spool.flush(lake_writer(lambda: p.lake)) == 4 and logged(p) == ids(0, 4)


def test_two_flushes_never_move_the_same_block(any_p: Platform) -> None:
    spool = PredictionSpool(any_p.context.db)
    spool.put(block(3), "b1")
    real = lake_writer(lambda: any_p.lake)
    inside, release = threading.Event(), threading.Event()

    def slow(table: pa.Table, batch_id: str) -> None:
        inside.set()
        release.wait(10)
        real(table, batch_id)

    moved: list[int] = []
    first = threading.Thread(target=lambda: moved.append(spool.flush(slow)))
    first.start()
    assert inside.wait(10)
    spool.put(block(2, start=3), "b2")
    assert spool.flush(real, wait=0.05) == 0  # the lease is held: left to the first
    release.set()
    first.join(10)
    assert moved == [5]  # the first also took what arrived while it wrote
    assert spool.flush(real, wait=5) == 0
    assert logged(any_p) == ids(0, 5)


def test_a_flush_whose_lease_expired_stops_before_writing(any_p: Platform) -> None:
    slow = PredictionSpool(any_p.context.db, lease_seconds=0.2)
    slow.put(block(2), "b1")
    written: list[str] = []
    real = lake_writer(lambda: any_p.lake)

    def other_takes_over(table: pa.Table, batch_id: str) -> None:
        written.append(batch_id)
        real(table, batch_id)

    # the lease expires while this flush stalls; another flush takes the spool over
    original = slow._mark_next

    def stall(holder: str) -> str | None:
        batch = original(holder)
        time.sleep(0.3)
        PredictionSpool(any_p.context.db).flush(other_takes_over)
        return batch

    slow._mark_next = stall  # type: ignore[method-assign]
    with pytest.raises(LeaseLost):
        slow.flush(lambda t, b: written.append("stale " + b))
    assert len(written) == 1 and not written[0].startswith("stale")
    assert logged(any_p) == ids(0, 2)


def test_large_spools_are_appended_in_bounded_batches(p: Platform) -> None:
    spool = PredictionSpool(p.context.db, max_rows=5)
    for i in range(4):
        spool.put(block(3, start=3 * i), f"b{i}")
    assert spool.flush(lake_writer(lambda: p.lake)) == 12
    assert logged(p) == ids(0, 12)
    assert p.lake.get_table(LOG_TABLE).version == 3  # 3 + 3 > 5: one block per append


def test_the_scheduler_queues_one_flush_job_when_the_spool_has_rows(
    p: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = str(p.context.settings.project_dir)
    monkeypatch.setitem(step_actions._ROOTS, project, p)
    sched = p.pipelines.scheduler()
    now = datetime.now(UTC)
    assert [j for j in sched.queue_periodic(now) if _is_flush(p, j)] == []  # empty spool
    p.serving.runtimes.spool.put(block(7), "b1")
    later = now + timedelta(seconds=10)
    [job_id] = [j for j in sched.queue_periodic(later) if _is_flush(p, j)]
    job = p.jobs.get(job_id)
    assert (job.kind, job.team, job.created_by) == ("inference_log", "default", "scheduler")
    assert job.target == "shipyard.step_actions:flush_prediction_log"
    # the next period while it still waits, or a second scheduler: not queued again
    assert not [j for j in sched.queue_periodic(later + timedelta(seconds=10)) if _is_flush(p, j)]
    assert not [j for j in p.pipelines.scheduler().queue_periodic(later) if _is_flush(p, j)]
    p.worker(poll_interval=0.005).run(max_jobs=1, idle_exit=0.3)
    done = p.jobs.get(job_id)
    assert (done.state, done.result, done.error) == ("succeeded", 7, None)
    assert logged(p) == ids(0, 7) and p.serving.runtimes.spool.pending() == (0, 0)
    # the period is the key; 0 seconds switches the source off
    t = datetime(2026, 12, 1, tzinfo=UTC)
    p.serving.runtimes.spool.put(block(1), "b2")
    [spec] = log_flushes(p.context, 5.0)(t)
    assert spec.idempotency_key == f"inference_log@{int(t.timestamp() // 5)}"
    assert log_flushes(p.context, 0.0)(t) == []


def _is_flush(p: Platform, job_id: str) -> bool:
    return p.jobs.get(job_id).kind == "inference_log"


def test_an_unreadable_block_is_dropped_without_stopping_the_log(
    p: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlalchemy as sa

    from shipyard.serving.tables import prediction_spool

    spool = PredictionSpool(p.context.db)
    spool.put(block(2), "b1")
    with p.context.db.begin() as conn:  # a block written by something else than a logger
        conn.execute(
            sa.insert(prediction_spool).values(
                id="junk", created_at=datetime.now(UTC), rows=9, payload=b"not arrow"
            )
        )
    spool.put(block(1, start=2), "b2")
    assert spool.flush(lake_writer(lambda: p.lake)) == 3
    assert logged(p) == ids(0, 3) and spool.pending() == (0, 0)
    assert "block junk is not Arrow IPC" in caplog.text
