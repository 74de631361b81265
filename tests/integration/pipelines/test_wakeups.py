"""Idle workers of another process are woken by ``NOTIFY`` on a real PostgreSQL server.

"Another process" is a second ``Platform`` on the same project: its own engine, queue
object and listening connection, as a ``shipyard worker`` process has.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from shipyard.pipelines.backends.sql import SqlJobQueue
from shipyard.pipelines.models import JobState
from shipyard.platform import Platform

pytestmark = pytest.mark.integration

NOOP = "shipyard.pipelines.builtin:noop"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Iterator[Path]:
    """One database for the module (each test uses pools of its own)."""
    name = f"shipyard_wake_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{pg_server_url.rsplit('/', 1)[0]}/{name}"
    path = tmp_path_factory.mktemp("wake")
    (path / "shipyard.yaml").write_text(json.dumps({"catalog": {"url": url}}))
    yield path
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def two(project: Path) -> Iterator[tuple[Platform, Platform]]:
    """A producer and a worker side, each with its own engine and queue."""
    a = Platform.open(project)
    b = Platform.open(project)
    yield a, b
    b.close()
    a.close()


def _queue(p: Platform) -> SqlJobQueue:
    q = p.jobs.queue
    assert isinstance(q, SqlJobQueue)
    return q


def _listening(q: SqlJobQueue, wake: threading.Event, pools: list[str]) -> Any:
    q.watch(wake, pools)
    listener = q.wakeups.listener
    assert listener is not None and listener.listening.wait(5)
    return listener


def test_an_idle_worker_polling_every_5_s_claims_a_job_of_another_process_at_once(
    two: tuple[Platform, Platform], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two
    qb = _queue(b)
    claims = 0
    claim = qb.claim

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return claim(*args, **kwargs)

    monkeypatch.setattr(qb, "claim", counted)
    worker = b.worker(pools=["far"], poll_interval=5.0, idle_poll_interval=5.0)
    thread = threading.Thread(target=worker.run, kwargs={"max_jobs": 1}, daemon=True)
    thread.start()
    try:
        listener = qb.wakeups.listener
        deadline = time.monotonic() + 10
        while (listener is None or claims < 11) and time.monotonic() < deadline:
            time.sleep(0.01)  # its waits double from 1 ms: the 12th claim is >= 1.02 s away
            listener = qb.wakeups.listener
        assert listener is not None and listener.listening.wait(5)
        job = a.jobs.submit(NOOP, executor="inprocess", pool="far")
        queued = datetime.now(UTC)
        thread.join(5)
    finally:
        worker.drain()
        thread.join(5)
    done = a.jobs.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.started_at is not None
    took = (done.started_at - queued).total_seconds()
    assert took < 0.9, f"claimed {took:.2f} s after the submit: at a poll, not woken"


def test_the_listener_reconnects_after_its_connection_is_killed_and_still_wakes(
    two: tuple[Platform, Platform],
) -> None:
    a, b = two
    qb, wake = _queue(b), threading.Event()
    listener = _listening(qb, wake, ["killed"])
    killed = listener.backend_pid
    wake.clear()
    with a.context.db.connect() as conn:
        conn.execute(sa.select(sa.func.pg_terminate_backend(killed)))
    assert wake.wait(5), "no wake-up after reconnecting (notices may have been lost)"
    assert listener.listening.wait(5) and listener.backend_pid not in (None, killed)
    wake.clear()
    a.jobs.submit(NOOP, executor="inprocess", pool="killed")
    assert wake.wait(2)
    qb.unwatch(wake)


def test_only_the_pools_watchers_are_woken_and_a_retry_when_it_is_due(
    two: tuple[Platform, Platform],
) -> None:
    a, b = two
    qa, qb = _queue(a), _queue(b)
    mine, other = threading.Event(), threading.Event()
    _listening(qb, mine, ["retried"])
    qb.watch(other, ["elsewhere"])
    job = a.jobs.submit(NOOP, executor="inprocess", pool="retried", max_attempts=2, retry_delay=0.4)
    assert mine.wait(2)
    assert not other.is_set()
    assert [j.id for j in qa.claim("w", ["retried"])] == [job.id]
    time.sleep(0.05)  # the claim sent nothing; let a late notice land before clearing
    mine.clear()
    failed = qa.fail(job.id, "w", "boom")  # queued again 0.2-0.4 s from now
    assert failed.state == JobState.QUEUED
    due = (failed.run_after.timestamp() - time.time()) if failed.run_after else 0.0
    assert not mine.wait(max(0.0, due - 0.1)), "woken before the retry was due"
    assert mine.wait(2)
    assert [j.id for j in qb.claim("w2", ["retried"])] == [job.id]
    assert not other.is_set()


def test_close_stops_the_listener(two: tuple[Platform, Platform]) -> None:
    _, b = two
    qb = _queue(b)
    listener = _listening(qb, threading.Event(), ["closed"])
    t0 = time.monotonic()
    qb.close()
    assert time.monotonic() - t0 < 1
    assert not listener._thread.is_alive()
