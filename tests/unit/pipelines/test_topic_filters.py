"""Topic triggers with a filter (``where``): only matching records start a run (ADR 0057)."""

from __future__ import annotations

import re
import runpy
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.errors import InvalidArgument
from shipyard.pipelines import scheduler as scheduler_module
from shipyard.pipelines.definitions import pipeline
from shipyard.pipelines.triggers import matches
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS

STEP = {"name": "a", "function": f"{STEPS}:emit"}
REFUND = {"kind": ["refund", "chargeback"], "shop": "eu"}


def _apply(p: Platform, *topics: Any, name: str = "react") -> None:
    p.pipelines.apply([{"name": name, "steps": [STEP], "triggers": {"topics": list(topics)}}])


def _keys(p: Platform, name: str = "react") -> list[str | None]:
    return [r.trigger_key for r in p.pipelines.list_runs(name, limit=100).items]


def test_a_filtered_trigger_fires_on_a_matching_record_and_not_on_others(pp: Platform) -> None:
    pp.events.create_topic("orders")
    _apply(pp, {"topic": "orders", "where": REFUND})
    s = pp.pipelines.scheduler()
    assert s.tick() == []  # first sight
    pp.events.publish("orders", [{"kind": "sale", "shop": "eu"}, {"kind": "refund", "shop": "us"}])
    assert s.tick() == []  # read, none matched: the cursor moved past them
    pp.events.publish("orders", [{"kind": "sale", "shop": "eu"}, {"kind": "refund", "shop": "eu"}])
    (run_id,) = s.tick()
    run = pp.pipelines.get_run(run_id)
    assert run.trigger == "topic" and run.trigger_key == "topic:orders@4"
    assert s.tick() == []


def test_a_lifecycle_trigger_wakes_only_for_its_table(pp: Platform) -> None:
    """ "When gold.stats is committed by a write or a refresh", on the team's events."""
    rows = pd.DataFrame({"id": [1]})
    pp.lake.write("gold.other", rows)  # the topic exists from the first commit on
    where = {"table": "gold.stats", "operation": ["write", "refresh"]}
    _apply(pp, {"topic": "shipyard.default.table.committed", "where": where})
    s = pp.pipelines.scheduler()
    s.tick()
    pp.lake.write("gold.other", rows, mode="append")
    assert s.tick() == []
    pp.lake.write("gold.stats", rows)
    assert len(s.tick()) == 1


def test_the_plain_form_is_unchanged_and_wins_over_a_filter_on_its_topic(pp: Platform) -> None:
    pp.events.create_topic("orders")
    _apply(pp, "orders", {"topic": "orders", "where": {"kind": "refund"}})
    # a plain trigger is stored as its name, as before filters (no diff for old specs)
    assert pp.pipelines.get("react").spec["triggers"]["topics"][0] == "orders"
    s = pp.pipelines.scheduler()
    s.tick()
    pp.events.publish("orders", [{"kind": "sale"}])
    (run_id,) = s.tick()  # any record: the plain trigger
    assert pp.pipelines.get_run(run_id).trigger_key == "topic:orders@1"


def test_filters_on_one_topic_are_ored(pp: Platform) -> None:
    pp.events.create_topic("orders")
    _apply(
        pp,
        {"topic": "orders", "where": {"kind": "refund"}},
        {"topic": "orders", "where": {"shop": "us"}},
    )
    s = pp.pipelines.scheduler()
    s.tick()
    pp.events.publish("orders", [{"kind": "sale", "shop": "eu"}])
    assert s.tick() == []
    pp.events.publish("orders", [{"kind": "sale", "shop": "us"}])
    assert len(s.tick()) == 1


def test_the_decorator_takes_a_filter() -> None:
    @pipeline(on_topics=["orders", {"topic": "orders", "where": {"kind": "refund"}}])
    def react(p: Any) -> None:
        p.call(f"{STEPS}:emit")

    assert react.to_spec()["triggers"]["topics"] == [
        "orders",
        {"topic": "orders", "where": {"kind": "refund"}},
    ]


def test_equality_is_json_equality() -> None:
    assert matches({"version": 1}, {"version": 1.0})
    assert not matches({"version": 1}, {"version": True})
    assert not matches({"version": "1"}, {"version": 1})
    assert matches({"version": None}, {"name": "churn"})  # null matches a missing field
    assert not matches({"name": "churn"}, {})


def test_two_racing_schedulers_fire_once(pp: Platform) -> None:
    pp.events.create_topic("orders")
    _apply(pp, {"topic": "orders", "where": {"kind": "refund"}})
    pp.pipelines.scheduler().tick()
    pp.events.publish("orders", [{"kind": "refund"}] * 3)
    barrier = threading.Barrier(4)
    started: list[list[str]] = []

    def race() -> None:
        barrier.wait()
        started.append(pp.pipelines.scheduler().tick())

    threads = [threading.Thread(target=race) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(s) for s in started) == 1
    assert _keys(pp) == ["topic:orders@3"]


def test_a_scheduler_whose_cursor_went_stale_fires_nothing(pp: Platform) -> None:
    """B reads the cursor, A fires and moves it while B scans: B must not fire again,
    nor move the cursor back (a later match would otherwise fire twice)."""
    pp.events.create_topic("orders")
    _apply(pp, {"topic": "orders", "where": {"kind": "refund"}})
    a, b = pp.pipelines.scheduler(), pp.pipelines.scheduler()
    a.tick()
    pp.events.publish("orders", [{"kind": "refund"}])
    read = b._topic_records
    assert read is not None

    def a_runs_first(*args: Any) -> Any:
        pp.events.publish("orders", [{"kind": "sale"}])
        assert len(a.tick()) == 1  # A sees offsets 0-1 and moves the cursor to 2
        return read(*args)

    b._topic_records = a_runs_first
    assert b.tick() == []  # B read the cursor at 0 and the end at 1: stale
    assert a.tick() == b.tick() == []
    assert _keys(pp) == ["topic:orders@2"]


def test_a_backlog_is_read_a_bounded_window_per_pass(
    pp: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "MAX_SCAN", 5)
    pp.events.create_topic("orders")
    _apply(pp, {"topic": "orders", "where": {"kind": "refund"}})
    s = pp.pipelines.scheduler()
    s.tick()
    pp.events.publish("orders", [{"kind": "sale"}] * 12 + [{"kind": "refund"}])
    assert s.tick() == [] and s.tick() == []  # offsets 0-4, then 5-9
    (run_id,) = s.tick()  # 10-12: the refund
    assert pp.pipelines.get_run(run_id).trigger_key == "topic:orders@13"
    # a match early in a long backlog: one run, the cursor jumps to the end
    pp.events.publish("orders", [{"kind": "refund"}] + [{"kind": "sale"}] * 12)
    assert len(s.tick()) == 1
    assert s.tick() == []
    assert _keys(pp) == ["topic:orders@26", "topic:orders@13"]


def test_records_are_read_with_the_appliers_roles_as_they_are_now(pp: Platform) -> None:
    """Apply needs READ on the topic's team; a role revoked later stops the trigger
    (the records stay unread, so a role granted back fires it), and no denial is
    audited per pass."""
    pp.events.create_topic("alerts", owner="risk")
    pp.security.create_principal("alice", kind="user", team="default", role="editor")
    pp.security.grant("alice", team="risk", role="viewer")
    as_alice = pp.as_principal(pp.security.get_principal("alice"))
    as_alice.pipelines.apply(
        [
            {
                "name": "react",
                "steps": [STEP],
                "triggers": {"topics": [{"topic": "alerts", "where": {"level": "high"}}]},
            }
        ]
    )
    s = pp.pipelines.scheduler()
    s.tick()
    pp.security.revoke_role("alice", team="risk")
    pp.events.publish("alerts", [{"level": "high"}])
    denied = pp.audit.list_records(limit=1000).items
    assert s.tick() == [] and s.tick() == []
    assert len(pp.audit.list_records(limit=1000).items) == len(denied)
    pp.security.grant("alice", team="risk", role="viewer")
    (run_id,) = s.tick()
    assert pp.pipelines.get_run(run_id).trigger_key == "topic:alerts@1"


def test_a_filtered_trigger_on_a_topic_the_applier_cannot_read_is_refused(pp: Platform) -> None:
    pp.events.create_topic("alerts", owner="risk")
    pp.security.create_principal("bob", kind="user", team="default", role="editor")
    as_bob = pp.as_principal(pp.security.get_principal("bob"))
    trigger = {"topic": "alerts", "where": {"level": "high"}}
    with pytest.raises(InvalidArgument) as info:
        as_bob.pipelines.plan(
            [{"name": "react", "steps": [STEP], "triggers": {"topics": [trigger]}}]
        )
    assert "needs 'read' on team 'risk'" in info.value.message


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ({"where": {}}, "trigger orders: where is empty"),
        (
            {"where": {"kind": {"in": ["refund"]}}},
            "trigger orders: where.kind: {'in': ['refund']} is not a string",
        ),
        (
            {"where": {"kind": [["refund"]]}},
            "trigger orders: where.kind: ['refund'] is not a string",
        ),
        ({"where": {"kind": []}}, "trigger orders: where.kind: a list of 1 to 100 values"),
        ({"where": "kind=refund"}, "trigger orders: where: Input should be a valid dictionary"),
        ({"filter": {"kind": "refund"}}, "trigger orders: filter: Extra inputs are not permitted"),
    ],
)
def test_a_bad_filter_is_refused_at_plan(pp: Platform, trigger: dict[str, Any], says: str) -> None:
    pp.events.create_topic("orders")
    spec = {
        "name": "react",
        "steps": [STEP],
        "triggers": {"topics": [{"topic": "orders", **trigger}]},
    }
    with pytest.raises(InvalidArgument) as info:
        pp.pipelines.plan([spec])
    assert info.value.message.startswith("pipeline 'react', ")
    assert says in info.value.message and "\n" not in info.value.message


def test_an_unknown_field_of_a_lifecycle_event_is_refused_at_plan(pp: Platform) -> None:
    pp.lake.write("gold.stats", pd.DataFrame({"id": [1]}))
    where = {"tabel": "gold.stats"}
    with pytest.raises(InvalidArgument) as info:
        _apply(pp, {"topic": "shipyard.default.table.committed", "where": where})
    assert info.value.message == (
        "pipeline 'react', trigger shipyard.default.table.committed: where: unknown field "
        "'tabel' of table.committed events (fields: event, at, team, principal, asset, "
        "table, version, operation, rows)"
    )


def test_the_docs_example_runs_and_prints_what_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "pipelines.md").read_text()
    section = text[text.index("### Filtering a topic trigger") :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    (tmp_path / "shipyard.yaml").write_text("")
    (tmp_path / "example.py").write_text(block.group(1))
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(tmp_path / "example.py"), run_name="__main__")
    assert capsys.readouterr().out == "[]\n1\n"
