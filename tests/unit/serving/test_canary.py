"""Canary ramps: steps by command and on a schedule, rollback on injected errors."""

from __future__ import annotations

import pytest

from shipyard.errors import Conflict, ShipyardError
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.canary import split
from shipyard.serving.context import runtime_for
from tests.unit.serving.conftest import Exploding, MemoryModels


@pytest.fixture
def deployed(served: Platform) -> Platform:
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    return served


def _weights(p: Platform) -> dict[str, int]:
    return {v.name: v.weight for v in p.serving.get_deployment("churn").variants}


def test_split_keeps_proportions_in_integers() -> None:
    assert split({"a": 70, "b": 30}, 75) == {"a": 52, "b": 23} or split({"a": 70, "b": 30}, 75) == {
        "a": 53,
        "b": 22,
    }
    assert sum(split({"a": 33, "b": 33, "c": 34}, 95).values()) == 95


def test_ramp_by_command_to_completion(deployed: Platform) -> None:
    dep = deployed.serving.start_canary("churn", Variant(name="c", model="churn/2"))
    assert dep.version == 2 and _weights(deployed) == {"a": 95, "c": 5}
    with pytest.raises(Conflict):
        deployed.serving.start_canary("churn", Variant(name="d", model="churn/2"))
    deployed.serving.advance_canary("churn")
    assert _weights(deployed) == {"a": 75, "c": 25}
    done = deployed.serving.advance_canary("churn")
    assert _weights(deployed) == {"a": 0, "c": 100}
    assert done.spec.canary is not None and done.spec.canary.status == "completed"
    assert {deployed.serving.predict("churn", [{"customer_id": i}]).variant for i in range(30)} == {
        "c"
    }
    with pytest.raises(Conflict):
        deployed.serving.advance_canary("churn")
    actions = [r.action for r in deployed.audit.list_records(asset="deployment:churn@4").items]
    assert "serving.advance_canary" in actions


def test_injected_errors_roll_the_canary_back(deployed: Platform, models: MemoryModels) -> None:
    v = models.add("churn", Exploding())
    deployed.catalog.register_asset(f"model:churn@{v}")
    deployed.serving.start_canary(
        "churn",
        Variant(name="bad", model=f"churn/{v}"),
        steps=[50, 100],
        min_requests=5,
        max_error_rate=0.2,
    )
    failures = 0
    for i in range(60):
        try:
            deployed.serving.predict("churn", [{"customer_id": i}])
        except ShipyardError:
            failures += 1
    assert failures >= 5
    for tick in runtime_for(deployed.serving).tick_hooks:  # what the refresh thread runs
        tick()
    dep = deployed.serving.get_deployment("churn")
    assert _weights(deployed) == {"a": 100}
    assert dep.spec.canary is not None and dep.spec.canary.status == "rolled_back"
    assert all(
        deployed.serving.predict("churn", [{"customer_id": i}]).variant == "a" for i in range(60)
    )
    records = deployed.audit.list_records(action="serving.rollback_canary").items
    assert records and records[0].principal == "serving-runtime"
    assert records[0].details["reason"] == "error rate 100.0% > 20.0%"


def test_scheduled_ramp_advances_on_the_tick(deployed: Platform) -> None:
    deployed.serving.start_canary(
        "churn", Variant(name="c", model="churn/2"), steps=[10, 100], interval_s=0.0
    )
    assert deployed.serving.check_canaries() == ["churn: advanced"]
    assert _weights(deployed) == {"a": 0, "c": 100}
    assert deployed.serving.check_canaries() == []  # completed: nothing left to do
