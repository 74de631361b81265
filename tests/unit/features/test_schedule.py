"""Scheduled materialization: a feature view with a cron ``schedule`` is materialized by a
job the pipeline scheduler queues once per tick, as the principal who applied it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shipyard import step_actions
from shipyard.errors import InvalidArgument
from shipyard.features import Entity, FeatureView
from shipyard.pipelines.materialize_jobs import materializations, scheduled_views
from shipyard.platform import Platform
from tests.unit.features.conftest import FEATURES, customer_source
from tests.unit.features.helpers import write_table


def _view(**kw: object) -> FeatureView:
    return FeatureView(
        name="customer_daily",
        entities=["customer"],
        source="gold.customer_daily",
        timestamp_field="event_ts",
        features=list(FEATURES),
        **kw,  # type: ignore[arg-type]
    )


def test_a_scheduled_view_is_materialized_once_per_tick(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = platform
    monkeypatch.setitem(step_actions._ROOTS, str(p.context.settings.project_dir), p)
    write_table(p, "gold.customer_daily", customer_source([1, 2, 3, 1], [1, 1, 1, 2]))
    p.features.apply(
        [Entity(name="customer", join_keys=["customer_id"]), _view(schedule="*/5 * * * *")]
    )
    [asset] = scheduled_views(p.context)
    applied = asset.created_at
    tick_time = applied.replace(second=0, microsecond=0) + timedelta(minutes=5 - applied.minute % 5)
    source = materializations(p.context, every=1.0)
    assert source(tick_time - timedelta(seconds=1)) == []  # no tick since the apply yet
    # the first tick after the apply: one job, the view's team, run as who applied it
    sched = p.pipelines.scheduler()
    queued = [j for j in sched.queue_periodic(tick_time + timedelta(seconds=1))]
    [job] = [p.jobs.get(j) for j in queued if p.jobs.get(j).kind == "materialize"]
    assert (job.team, job.created_by) == ("default", "scheduler")
    assert job.args["principal"] == "local-admin" and job.args["params"] == {
        "views": ["customer_daily"]
    }
    assert job.idempotency_key == f"materialize:customer_daily@{tick_time.isoformat()}"
    # a second scheduler on the same tick, or the same one a pass later: not twice
    again = p.pipelines.scheduler().queue_periodic(tick_time + timedelta(seconds=2))
    assert not [j for j in again if p.jobs.get(j).kind == "materialize"]
    p.worker(poll_interval=0.005).run(max_jobs=1, idle_exit=0.3)
    done = p.jobs.get(job.id)
    assert done.state == "succeeded", done.error
    rows = p.features.get_online_features(
        ["customer_daily:f0"], entity_rows=[{"customer_id": 1}, {"customer_id": 2}]
    )
    assert rows.to_dict()["f0"] == [1 + 3.0, 2 + 1.0]  # each key's newest value
    # the tick's job row gone (job retention): the materialization it made still counts
    assert p.jobs.prune(older_than_days=1e-9).jobs >= 1
    pruned = sched.queue_periodic(tick_time + timedelta(seconds=3))
    assert not [j for j in pruned if p.jobs.get(j).kind == "materialize"]
    # the next tick queues the next materialization
    later = sched.queue_periodic(tick_time + timedelta(minutes=5, seconds=1))
    assert len([j for j in later if p.jobs.get(j).kind == "materialize"]) == 1


def test_bad_schedules_are_refused_where_the_view_is_defined() -> None:
    with pytest.raises(InvalidArgument, match=r"customer_daily.*bad cron"):
        _view(schedule="every five minutes")
    with pytest.raises(InvalidArgument, match="unknown time zone"):
        _view(schedule="@daily", schedule_timezone="Mars/Olympus")
    with pytest.raises(InvalidArgument, match="offline"):
        _view(schedule="@daily", online=False)


def test_the_schedule_round_trips_and_views_without_one_keep_their_spec() -> None:
    plain = _view()
    assert "schedule" not in plain.to_spec()  # so their plans show no change
    view = _view(schedule="0 3 * * *", schedule_timezone="Europe/Paris")
    again = FeatureView.from_spec("customer_daily", view.to_spec(), "default", [])
    assert (again.schedule, again.schedule_timezone) == ("0 3 * * *", "Europe/Paris")
