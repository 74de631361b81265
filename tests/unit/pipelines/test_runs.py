"""Runs: steps queued as their upstreams succeed, values passed, failures skip downstream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import pytest

from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.lake.models import TableDefinition
from shipyard.pipelines.models import JobState
from shipyard.pipelines.runs import RunState
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS, drain


def _fn(name: str, fn: str = "emit", after: list[str] | None = None, **args: Any) -> dict[str, Any]:
    return {"name": name, "function": f"{STEPS}:{fn}", "after": after or [], "args": args}


def _apply(pp: Platform, steps: list[dict[str, Any]], **more: Any) -> None:
    pp.pipelines.apply([{"name": "p", "steps": steps, **more}])


def test_a_chain_runs_in_order_passing_small_values(pp: Platform) -> None:
    _apply(pp, [_fn("a", value=2), _fn("b", "add", ["a"], plus=3), _fn("c", "add", ["b"])])
    run = pp.pipelines.run("p")
    assert {k: v["state"] for k, v in run.steps.items()} == {
        "a": "queued",
        "b": "pending",
        "c": "pending",
    }
    queued = pp.jobs.list(state="queued").items
    assert [j.step for j in queued] == ["a"]  # only the root: the rest wait for it
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.SUCCEEDED and done.finished_at is not None
    c = pp.jobs.get(done.steps["c"]["job"])
    assert c.result == {"value": 2 + 3 + 1}
    assert c.args == {"inputs": {"b": {"value": 5}}}
    a, b = (pp.jobs.get(done.steps[s]["job"]) for s in "ab")
    assert a.finished_at is not None and b.started_at is not None
    assert a.finished_at <= b.started_at  # b started only after a ended


def test_a_failed_step_skips_its_downstream_and_the_run_fails(pp: Platform) -> None:
    steps = [
        _fn("a"),
        {**_fn("boom", "fail", ["a"]), "max_attempts": 1},
        _fn("after_boom", "add", ["boom"]),
        _fn("later", "add", ["after_boom"]),
        _fn("side", "add", ["a"]),  # another branch: runs
    ]
    _apply(pp, steps)
    run = pp.pipelines.run("p")
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    states = {k: v["state"] for k, v in done.steps.items()}
    assert states == {
        "a": "succeeded",
        "boom": "failed",
        "after_boom": "skipped",
        "later": "skipped",
        "side": "succeeded",
    }
    assert "job" not in done.steps["after_boom"]  # never queued, so never run
    assert done.state == RunState.FAILED
    assert done.error == "step 'boom' failed: RuntimeError: step failed on purpose"
    assert "failing on purpose" in pp.pipelines.logs(run.id)["boom"]


def test_a_diamond_queues_the_join_once_after_both_branches(pp: Platform) -> None:
    _apply(
        pp,
        [_fn("a"), _fn("l", "add", ["a"]), _fn("r", "add", ["a"]), _fn("j", "add", ["l", "r"])],
    )
    run = pp.pipelines.run("p")
    engine = pp.pipelines.engine
    drain(pp)
    for _ in range(3):  # advancing again (a late worker, the reconcile pass) adds nothing
        engine.advance(run.id)
    joins = [j for j in pp.jobs.list(limit=100).items if j.step == "j"]
    assert len(joins) == 1 and joins[0].result == {"value": 5}  # (1+1) + (1+1) + 1
    assert pp.pipelines.get_run(run.id).state == RunState.SUCCEEDED


def test_cancel_stops_queued_steps_and_the_rest_never_run(pp: Platform) -> None:
    _apply(pp, [_fn("a"), _fn("b", "add", ["a"])])
    run = pp.pipelines.run("p")
    cancelled = pp.pipelines.cancel_run(run.id)
    assert cancelled.state == RunState.CANCELLED
    assert {v["state"] for v in cancelled.steps.values()} == {"cancelled"}
    assert pp.jobs.get(run.steps["a"]["job"]).state == JobState.CANCELLED
    assert drain(pp) == 0
    with pytest.raises(Conflict):
        pp.pipelines.cancel_run(run.id)
    with pytest.raises(NotFound):
        pp.pipelines.cancel_run("nope")


def test_cancelling_a_step_job_skips_its_downstream(pp: Platform) -> None:
    _apply(pp, [_fn("a"), _fn("b", "add", ["a"])])
    run = pp.pipelines.run("p")
    pp.jobs.cancel(run.steps["a"]["job"])
    done = pp.pipelines.get_run(run.id)
    assert {k: v["state"] for k, v in done.steps.items()} == {"a": "cancelled", "b": "skipped"}
    assert done.state == RunState.CANCELLED


def test_a_step_dead_lettered_by_lease_expiry_is_reconciled(pp: Platform) -> None:
    _apply(pp, [{**_fn("a"), "max_attempts": 1}, _fn("b", "add", ["a"])])
    run = pp.pipelines.run("p")
    queue = pp.jobs.queue
    (job,) = queue.claim("ghost", ["default"], lease_seconds=0.01)
    assert job.run_id == run.id and job.step == "a"
    import time

    time.sleep(0.05)
    assert queue.requeue_expired() == 1  # out of attempts: dead, and no worker advanced it
    assert pp.pipelines.get_run(run.id).state == RunState.RUNNING
    pp.pipelines.scheduler().reconcile()
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.FAILED and done.steps["b"]["state"] == "skipped"


def test_platform_actions_run_as_the_caller_and_record_lineage(pp: Platform) -> None:
    pp.lake.write("bronze.orders", pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]}), mode="overwrite")
    pp.lake.define(TableDefinition(name="silver.orders", sql="SELECT * FROM bronze.orders"))
    _apply(
        pp,
        [
            {"name": "silver", "action": "lake.refresh", "args": {"table": "silver.orders"}},
            _fn("after", "emit", ["silver"]),
        ],
    )
    run = pp.pipelines.run("p")
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.SUCCEEDED, done.error
    assert pp.lake.sql("SELECT count(*) AS n FROM silver.orders").to_pylist() == [{"n": 2}]
    lineage = pp.catalog.lineage(f"job:{run.id}", direction="downstream")
    assert any(n.kind == "table" and n.name == "silver.orders" for n in lineage.nodes)
    up = pp.catalog.lineage(f"job:{run.id}", direction="upstream")
    assert any(n.kind == "pipeline" and n.name == "p" for n in up.nodes)
    assert pp.catalog.get_asset(f"job:{run.id}").owner == "default"
    actions = [r.action for r in pp.audit.list_records(limit=1000).items]
    assert "pipelines.run" in actions and "lake.refresh" in actions


def test_runs_list_newest_first_and_filters(pp: Platform) -> None:
    _apply(pp, [_fn("a")])
    first = pp.pipelines.run("p")
    drain(pp)
    second = pp.pipelines.run("p")
    page = pp.pipelines.list_runs("p")
    assert [r.id for r in page.items] == [second.id, first.id]
    assert [r.id for r in pp.pipelines.list_runs(state="succeeded").items] == [first.id]
    with pytest.raises(Exception, match="unknown run state"):
        pp.pipelines.list_runs(state="bogus")


def test_runs_page_with_tokens_and_only_readable_teams(pp: Platform) -> None:
    _apply(pp, [_fn("a")])
    made = [pp.pipelines.run("p").id for _ in range(3)]
    seen, token = [], None
    while True:
        page = pp.pipelines.list_runs("p", limit=1, page_token=token)
        assert len(page.items) <= 1
        seen += [r.id for r in page.items]
        token = page.next_page_token
        if token is None:
            break
    assert seen == made[::-1]  # newest first, each run once
    first = pp.pipelines.list_runs("p", limit=1)
    with pytest.raises(InvalidArgument):  # a token is only valid with its own filters
        pp.pipelines.list_runs("p", state="queued", limit=1, page_token=first.next_page_token)
    other = pp.security.create_principal("rv", team="risk", role="viewer")
    assert pp.as_principal(other).pipelines.list_runs(limit=1).items == []


def test_a_step_gets_inputs_and_partition_only_if_it_takes_them(pp: Platform) -> None:
    # ``add`` takes no ``partition``; ``emit`` takes any keyword; one runs in a child process
    steps = [
        _fn("a"),
        {**_fn("b", "add", ["a"]), "executor": "subprocess"},
        _fn("c", "emit", ["b"]),
    ]
    _apply(pp, steps, partitioned="daily")
    run = pp.pipelines.run("p", partition="2026-01-31")
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.SUCCEEDED, done.error
    c = pp.jobs.get(done.steps["c"]["job"])
    assert c.result == {"value": 1, "inputs": {"b": {"value": 2}}, "partition": "2026-01-31"}


def test_a_cdc_apply_step_merges_changes_with_lineage_from_source_to_table(
    pp: Platform,
) -> None:
    ts = [datetime(2026, 1, 1)] * 2
    pp.lake.write(
        "silver.customers",
        pd.DataFrame({"id": [1, 2], "name": ["a", "b"], "ts": ts}),
        mode="overwrite",
    )
    changes = {"id": [1, 3], "name": ["A", "c"], "ts": [datetime(2026, 1, 2)] * 2}
    pp.lake.write(
        "bronze.customer_changes",
        pd.DataFrame({**changes, "op": ["UPDATE", "INSERT"]}),
        mode="overwrite",
    )
    args = {
        "table": "silver.customers",
        "source": "bronze.customer_changes",
        "keys": ["id"],
        "sequence_by": "ts",
    }
    _apply(pp, [{"name": "cdc", "action": "lake.apply_changes", "args": args}])
    run = pp.pipelines.run("p")
    drain(pp)
    assert pp.pipelines.get_run(run.id).state == RunState.SUCCEEDED
    rows = pp.lake.sql("SELECT id, name FROM silver.customers ORDER BY id").to_pylist()
    assert rows == [{"id": 1, "name": "A"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
    edges = {
        (e.source.name, e.target.name)
        for e in pp.catalog.lineage(f"job:{run.id}", direction="upstream").edges
    }
    assert ("bronze.customer_changes", run.id) in edges
    assert ("bronze.customer_changes", "p") in edges
    assert ("silver.customers", "p") not in edges  # written, not read: no cycle
    down = pp.catalog.lineage(f"job:{run.id}", direction="downstream").edges
    assert {(e.source.name, e.target.name) for e in down} == {(run.id, "silver.customers")}


def test_a_step_that_times_out_fails_with_the_reason_and_skips_downstream(pp: Platform) -> None:
    slow = {
        "name": "slow",
        "function": "shipyard.pipelines.builtin:sleep",
        "args": {"seconds": 30},
        "executor": "subprocess",
        "timeout": 0.5,
        "max_attempts": 1,
    }
    _apply(pp, [slow, _fn("next", "add", ["slow"])])
    run = pp.pipelines.run("p")
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert {k: v["state"] for k, v in done.steps.items()} == {"slow": "failed", "next": "skipped"}
    assert done.error == "step 'slow' failed: timed out after 0.5 s"


def test_an_action_acts_with_the_principals_roles_as_they_are_when_it_runs(
    pp: Platform,
) -> None:
    pp.lake.write("bronze.orders", pd.DataFrame({"id": [1]}), mode="overwrite")
    pp.lake.define(TableDefinition(name="silver.orders", sql="SELECT * FROM bronze.orders"))
    refresh = {"name": "r", "action": "lake.refresh", "args": {"table": "silver.orders"}}
    _apply(pp, [{**refresh, "max_attempts": 1}])
    pp.security.create_principal("ed", team="default", role="editor")
    with Platform.open(pp.settings.project_dir, principal="ed") as as_ed:
        run = as_ed.pipelines.run("p")
    pp.security.revoke_role("ed", team="default")  # before a worker runs the step
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.FAILED
    assert done.error is not None and "PermissionDenied: ed may not lake." in done.error
    denied = pp.audit.list_records(principal="ed", outcome="denied", limit=100).items
    assert denied and all(r.action.startswith("lake.") for r in denied)
    assert pp.lake.sql("SELECT count(*) AS n FROM silver.orders").to_pylist() == [{"n": 0}]


@pytest.mark.parametrize("executor", ["inprocess", "subprocess"])
def test_a_step_functions_lineage_is_the_same_on_each_executor(pp: Platform, executor: str) -> None:
    """What a step function's platform calls read and wrote is its run's lineage on a
    subprocess as in-process, including what a failing step wrote before it failed
    (``test_ray.py`` checks the Ray executor)."""
    pp.lake.write("bronze.src", pd.DataFrame({"x": [1, 2, 3]}))
    copy = _fn("silver", "copy_table", source="bronze.src", target="silver.mid")
    fail = _fn("gold", "copy_then_fail", ["silver"], source="silver.mid", target="gold.out")
    _apply(pp, [{**copy, "executor": executor}, {**fail, "executor": executor, "max_attempts": 1}])
    run = pp.pipelines.run("p")
    drain(pp)
    done = pp.pipelines.get_run(run.id)
    assert done.state == RunState.FAILED and "RuntimeError" in (done.error or "")
    up = pp.catalog.lineage(run.asset, direction="upstream", depth=1).edges
    down = pp.catalog.lineage(run.asset, direction="downstream", depth=1).edges
    # read bronze.src; wrote silver.mid (then read it: not an input) and, before failing,
    # gold.out
    assert {e.source.name for e in up} == {"p", "bronze.src"}
    assert {e.target.name for e in down} == {"silver.mid", "gold.out"}


def test_a_submitted_function_jobs_lineage_is_its_own_job_asset(pp: Platform) -> None:
    """A job that is no pipeline step gets a ``job:<id>`` asset with what it read and
    wrote; a job that touched nothing gets none."""
    pp.lake.write("bronze.src", pd.DataFrame({"x": [1, 2, 3]}))
    job = pp.jobs.submit(
        f"{STEPS}:copy_table", {"source": "bronze.src", "target": "silver.copy"},
        executor="inprocess",
    )  # fmt: skip
    quiet = pp.jobs.submit(f"{STEPS}:emit", executor="inprocess")
    drain(pp)
    assert pp.jobs.get(job.id).state == JobState.SUCCEEDED
    asset = pp.catalog.get_asset(f"job:{job.id}")
    assert asset.owner == job.team and asset.properties["target"].endswith(":copy_table")
    up = pp.catalog.lineage(asset.ref, direction="upstream", depth=1).edges
    down = pp.catalog.lineage(asset.ref, direction="downstream", depth=1).edges
    assert {e.source.name for e in up} == {"bronze.src"}
    assert {e.target.name for e in down} == {"silver.copy"}
    with pytest.raises(NotFound):
        pp.catalog.get_asset(f"job:{quiet.id}")
