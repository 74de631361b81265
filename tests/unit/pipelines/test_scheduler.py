"""The scheduler: cron in a time zone, catch-up policies, pause, triggers, ticks fire once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from shipyard.pipelines.tables import pipeline_ticks
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS

T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
STEP = {"name": "a", "function": f"{STEPS}:emit"}


def _apply(pp: Platform, cron: str = "0 3 * * *", catchup: str = "run-once", **more: Any) -> None:
    spec = {
        "name": "nightly",
        "steps": [STEP],
        "schedule": {"cron": cron, "timezone": "Europe/Paris", "catchup": catchup},
        **more,
    }
    pp.pipelines.apply([spec])


def _ticks(pp: Platform) -> list[str]:
    with pp.context.db.connect() as conn:
        rows = conn.execute(sa.select(pipeline_ticks.c.tick_key).order_by("tick_key"))
        return [r.tick_key for r in rows]


def test_cron_ticks_in_the_pipelines_time_zone_across_dst(pp: Platform) -> None:
    _apply(pp)
    s = pp.pipelines.scheduler()
    assert s.tick(T0) == []  # first sight: only ticks from now on
    assert s.tick(T0 + timedelta(hours=14)) != []  # 03:00 Paris = 02:00 UTC (winter)
    s.tick(T0 + timedelta(days=2))  # 29 March: summer time, 03:00 Paris = 01:00 UTC
    assert _ticks(pp) == ["cron:2026-03-28T02:00:00+00:00", "cron:2026-03-29T01:00:00+00:00"]
    runs = pp.pipelines.list_runs("nightly").items
    assert {r.trigger for r in runs} == {"schedule"}
    assert runs[0].trigger_key == "cron:2026-03-29T01:00:00+00:00"


def _down_for_three_days(pp: Platform, catchup: str) -> list[str]:
    _apply(pp, catchup=catchup)
    pp.pipelines.scheduler().tick(T0)
    # the scheduler was down: the next pass is three days (3 ticks) later
    return pp.pipelines.scheduler().tick(T0 + timedelta(days=3))


def test_catchup_all_runs_every_missed_tick(pp: Platform) -> None:
    assert len(_down_for_three_days(pp, "all")) == 3


def test_catchup_run_once_runs_the_latest_missed_tick(pp: Platform) -> None:
    assert len(_down_for_three_days(pp, "run-once")) == 1
    assert _ticks(pp) == ["cron:2026-03-30T01:00:00+00:00"]


def test_catchup_skip_runs_none_of_the_missed_ticks(pp: Platform) -> None:
    assert _down_for_three_days(pp, "skip") == []
    s = pp.pipelines.scheduler()  # and fires the next one on time
    assert len(s.tick(datetime(2026, 3, 31, 1, 0, 30, tzinfo=UTC))) == 1


def test_a_daily_pipelines_scheduled_run_is_for_the_day_that_ended(pp: Platform) -> None:
    _apply(pp, partitioned="daily")
    s = pp.pipelines.scheduler()
    s.tick(T0)
    (run_id,) = s.tick(T0 + timedelta(hours=14))
    assert pp.pipelines.get_run(run_id).partition == "2026-03-27"


def test_pause_holds_ticks_and_resume_catches_up_by_policy(pp: Platform) -> None:
    _apply(pp, catchup="all")
    s = pp.pipelines.scheduler()
    s.tick(T0)
    pp.pipelines.pause("nightly")
    assert pp.pipelines.get("nightly").paused
    assert s.tick(T0 + timedelta(days=2)) == []
    pp.pipelines.resume("nightly")
    assert len(s.tick(T0 + timedelta(days=2))) == 2
    actions = {r.action for r in pp.audit.list_records(limit=1000).items}
    assert {"pipelines.pause", "pipelines.resume"} <= actions


def test_two_schedulers_racing_fire_each_tick_once(pp: Platform) -> None:
    _apply(pp, cron="*/5 * * * *", catchup="all")
    pp.pipelines.scheduler().tick(T0)
    later = T0 + timedelta(hours=2)  # 24 ticks behind
    barrier = threading.Barrier(4)
    started: list[list[str]] = []

    def race() -> None:
        barrier.wait()
        started.append(pp.pipelines.scheduler().tick(later))

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(s) for s in started) == 24
    assert len(pp.pipelines.list_runs("nightly", limit=1000).items) == 24
    assert len(_ticks(pp)) == len(set(_ticks(pp))) == 24


def test_a_table_commit_triggers_one_run(pp: Platform) -> None:
    rows = pd.DataFrame({"id": [1]})
    pp.lake.write("gold.stats", rows, mode="overwrite")
    pp.pipelines.apply(
        [{"name": "retrain", "steps": [STEP], "triggers": {"tables": ["gold.stats"]}}]
    )
    s = pp.pipelines.scheduler()
    assert s.tick() == []  # the version seen at first sight starts nothing
    assert s.tick() == []
    pp.lake.write("gold.stats", rows, mode="append")
    pp.lake.write("gold.stats", rows, mode="append")
    (run_id,) = s.tick()  # two commits since the last pass: one run
    run = pp.pipelines.get_run(run_id)
    assert run.trigger == "table" and run.trigger_key == "table:gold.stats@2"
    assert s.tick() == []


def test_a_topic_gets_records_triggers_a_run(pp: Platform) -> None:
    pp.events.create_topic("orders")
    pp.pipelines.apply([{"name": "react", "steps": [STEP], "triggers": {"topics": ["orders"]}}])
    s = pp.pipelines.scheduler()
    assert s.tick() == []
    pp.events.publish("orders", [{"id": 1}])
    (run_id,) = s.tick()
    assert pp.pipelines.get_run(run_id).trigger == "topic"
    assert s.tick() == []
