"""Bad pipeline definitions are refused at plan time, in one line naming the place."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import shipyard
from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.pipelines.definitions import Pipeline, parse_spec
from shipyard.platform import Platform
from tests.unit.pipelines.conftest import STEPS


def _spec(steps: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {"name": "p", "steps": steps, **more}


def _fn(name: str, after: list[str] | None = None, **args: Any) -> dict[str, Any]:
    return {"name": name, "function": f"{STEPS}:emit", "after": after or [], "args": args}


def _refused(pp: Platform, spec: Any) -> str:
    with pytest.raises(InvalidArgument) as exc:
        pp.pipelines.plan([spec])
    message = exc.value.message
    assert "\n" not in message
    return message


def test_decorators_build_the_dag_in_order() -> None:
    @shipyard.pipeline(schedule="0 3 * * *", timezone="Europe/Paris", owner="ml")
    def churn(p: Any) -> None:
        a = p.call(f"{STEPS}:emit", name="a")
        b = p.action("lake.refresh", table="silver.orders", after=[a])
        p.call(f"{STEPS}:add", after=[a, b], plus=2, options={"executor": "subprocess"})

    assert isinstance(churn, Pipeline)
    spec = churn.spec
    assert [s.name for s in spec.steps] == ["a", "refresh_silver_orders", "add"]
    assert spec.order() == ["a", "refresh_silver_orders", "add"]
    assert spec.step("add").after == ["a", "refresh_silver_orders"]
    assert spec.step("add").executor.value == "subprocess"
    assert spec.schedule is not None and spec.schedule.timezone == "Europe/Paris"
    assert parse_spec(churn.to_spec()) == spec  # the JSON form round-trips


def test_an_action_argument_named_like_a_builder_argument_goes_in_params(pp: Platform) -> None:
    @shipyard.pipeline
    def promote(p: Any) -> None:
        p.action("registry.promote", name="to_champion", params={"name": "churn", "alias": "c"})

    step = promote.spec.step("to_champion")
    assert step.action == "registry.promote" and step.args == {"name": "churn", "alias": "c"}
    assert pp.pipelines.plan([promote])[0]["action"] == "create"


def test_a_cycle_is_refused_naming_it(pp: Platform) -> None:
    spec = _spec([_fn("a", ["c"]), _fn("b", ["a"]), _fn("c", ["b"])])
    message = _refused(pp, spec)
    assert "pipeline 'p'" in message and "cycle" in message
    assert all(n in message for n in "abc")


def test_an_unknown_upstream_step_is_refused(pp: Platform) -> None:
    message = _refused(pp, _spec([_fn("a"), _fn("b", ["nope"])]))
    assert message == "pipeline 'p', step 'b': runs after unknown step 'nope'"


def test_an_unknown_table_is_refused(pp: Platform) -> None:
    step = {"name": "r", "action": "lake.refresh", "args": {"table": "silver.missing"}}
    assert _refused(pp, _spec([step])) == "pipeline 'p', step 'r': unknown table silver.missing"
    trig = _spec([_fn("a")], triggers={"tables": ["gold.missing"]})
    assert _refused(pp, trig) == "pipeline 'p', trigger: unknown table gold.missing"


@pytest.mark.parametrize(
    ("cron", "tz", "expected"),
    [
        ("61 * * * *", "UTC", "pipeline 'p', schedule: bad cron '61 * * * *'"),
        ("0 3 * *", "UTC", "pipeline 'p', schedule: bad cron '0 3 * *'"),
        ("0 3 * * *", "Mars/Olympus", "pipeline 'p', schedule: unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_cron_or_zone_is_refused(pp: Platform, cron: str, tz: str, expected: str) -> None:
    spec = _spec([_fn("a")], schedule={"cron": cron, "timezone": tz})
    assert _refused(pp, spec).startswith(expected)


def test_unknown_actions_and_arguments_are_refused(pp: Platform) -> None:
    bad = _spec([{"name": "x", "action": "lake.explode", "args": {}}])
    assert _refused(pp, bad).startswith("pipeline 'p', step 'x': unknown action 'lake.explode'")
    missing = _spec([{"name": "x", "action": "lake.refresh", "args": {}}])
    assert _refused(pp, missing) == "pipeline 'p', step 'x': action 'lake.refresh' needs table"
    extra = _spec([{"name": "x", "action": "features.materialize", "args": {"veiws": []}}])
    assert "takes no argument veiws" in _refused(pp, extra)


def test_shape_errors_name_the_step(pp: Platform) -> None:
    both = _spec([{"name": "x", "action": "lake.refresh", "function": f"{STEPS}:emit"}])
    assert "step 'x': give exactly one of action= or function=" in _refused(pp, both)
    assert "declared twice" in _refused(pp, _spec([_fn("a"), _fn("a")]))
    assert "has no steps" in _refused(pp, _spec([]))
    assert "pipeline name" in _refused(pp, {"name": "Bad Name", "steps": [_fn("a")]})
    assert "only 'daily'" in _refused(pp, _spec([_fn("a")], partitioned="hourly"))


def test_a_function_that_jobs_may_not_run_is_refused(pp: Platform) -> None:
    spec = _spec([{"name": "x", "function": "os:system", "args": {"command": "true"}}])
    assert "step 'x': job target os:system is not allowed" in _refused(pp, spec)
    # the engine's own target (it acts as the run's principal): never from a definition
    actions = _spec([{"name": "x", "function": "shipyard.step_actions:run_action"}])
    assert "is not allowed" in _refused(pp, actions)
    with pytest.raises(PermissionDenied):  # nor from a job submitter
        pp.jobs.submit("shipyard.step_actions:run_action", {"action": "lake.refresh_all"})


def test_plan_shows_create_update_unchanged(pp: Platform) -> None:
    pp.lake.write("silver.orders", pd.DataFrame({"id": [1]}), mode="overwrite")
    pp.lake.write("bronze.orders", pd.DataFrame({"id": [1]}), mode="overwrite")
    spec = _spec(
        [{"name": "r", "action": "lake.refresh", "args": {"table": "silver.orders"}}],
        triggers={"tables": ["bronze.orders"]},
    )
    assert pp.pipelines.plan([spec])[0]["action"] == "create"
    pp.pipelines.apply([spec])
    assert pp.pipelines.plan([spec])[0]["action"] == "unchanged"
    changed = {**spec, "description": "nightly"}
    (change,) = pp.pipelines.plan([changed])
    assert change["action"] == "update" and change["diff"] == ["description: '' -> 'nightly'"]
    pp.pipelines.apply([changed])
    info = pp.pipelines.get("p")
    assert info.version == 2 and info.spec["description"] == "nightly"
    lineage = pp.catalog.lineage("pipeline:p", direction="upstream")
    upstream = {(n.kind, n.name) for n in lineage.nodes}
    assert ("table", "bronze.orders") in upstream  # what it reads (its trigger)
    assert ("table", "silver.orders") not in upstream  # what it writes comes after its runs


def test_a_trigger_on_a_table_the_pipeline_writes_is_refused(pp: Platform) -> None:
    pp.lake.write("silver.orders", pd.DataFrame({"id": [1]}), mode="overwrite")
    step = {"name": "r", "action": "lake.refresh", "args": {"table": "silver.orders"}}
    spec = _spec([step], triggers={"tables": ["silver.orders"]})
    assert _refused(pp, spec) == (
        "pipeline 'p', trigger: table silver.orders is written by step 'r' "
        "(each run would start the next)"
    )


def test_every_action_a_definition_may_name_has_a_runner() -> None:
    from shipyard import step_actions
    from shipyard.config import JobSettings
    from shipyard.pipelines import actions
    from shipyard.pipelines.functions import resolve

    assert set(step_actions.RUNNERS) == set(actions.ACTIONS)
    # the engine's job target resolves by its path (what a spawned worker child does)
    settings = JobSettings()
    assert resolve(actions.TARGET, settings) is step_actions.run_action
