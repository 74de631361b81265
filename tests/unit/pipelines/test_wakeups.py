"""Idle workers are woken for their own pools (SQLite: by their own process's commits);
what the PostgreSQL listener does with notices (the server side is in
``tests/integration/pipelines/test_wakeups.py``)."""

from __future__ import annotations

import threading
import time

from shipyard.pipelines.backends.sql import SqlJobQueue
from shipyard.platform import Platform

NOOP = "shipyard.pipelines.builtin:noop"


def test_a_commit_wakes_the_watchers_of_its_pools_only(platform: Platform) -> None:
    q = platform.jobs.queue
    assert isinstance(q, SqlJobQueue)
    mine, other, every = threading.Event(), threading.Event(), threading.Event()
    q.watch(mine, ["a"])
    q.watch(other, ["b"])
    q.watch(every)
    platform.jobs.submit(NOOP, executor="inprocess", pool="a")
    assert mine.is_set() and every.is_set() and not other.is_set()
    assert q.wakeups.listener is None  # SQLite: no listener thread
    q.unwatch(mine)
    mine.clear()
    platform.jobs.submit(NOOP, executor="inprocess", pool="a")
    assert not mine.is_set()


def test_notices_wake_now_or_when_due_and_a_reconnect_wakes_everyone(platform: Platform) -> None:
    q = platform.jobs.queue
    assert isinstance(q, SqlJobQueue)
    w = q.wakeups
    a, b = threading.Event(), threading.Event()
    q.watch(a, ["a"])
    q.watch(b, ["b"])
    w._on_notices(["a", f"b {time.time() + 0.2:.3f}", "c not-a-time"])
    assert a.is_set() and not b.is_set()
    assert 0 < w._next_due() <= 0.21  # the payload's time is rounded to 1 ms
    time.sleep(w._next_due() + 0.005)
    w._on_notices([])  # the listener's wait timed out: the retry is due
    assert b.is_set()
    assert w._next_due() == 60.0
    a.clear(), b.clear()
    w._on_notices(None)
    assert a.is_set() and b.is_set()
