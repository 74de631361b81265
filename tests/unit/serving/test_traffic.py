"""A/B split, shadow traffic, hot swaps and the deployment cache."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.context import runtime_for
from shipyard.serving.routing import WeightTable, bucket
from tests.unit.serving.conftest import MemoryModels, Proba, train


def _deploy(p: Platform, variants: list[Variant]) -> None:
    p.serving.create_deployment(
        "churn", variants=variants, feature_service="churn", entity_keys=["customer_id"]
    )


def test_bucket_split_matches_weights_and_only_moves_the_boundary() -> None:
    keys = [f"customer_id={i}" for i in range(20_000)]
    split = WeightTable([90, 10])
    before = [split.pick(bucket(k, "churn")) for k in keys]
    assert 0.09 <= sum(before) / len(keys) <= 0.11
    after = [WeightTable([50, 50]).pick(bucket(k, "churn")) for k in keys]
    assert 0.49 <= sum(after) / len(keys) <= 0.51
    assert all(a == 1 for b, a in zip(before, after, strict=True) if b == 1)
    # another deployment splits the same keys independently (salted hash)
    other = [split.pick(bucket(k, "fraud")) for k in keys]
    assert sum(o == b == 1 for o, b in zip(other, before, strict=True)) < 0.02 * len(keys)


def test_ab_split_is_sticky_and_proportional(served: Platform) -> None:
    _deploy(
        served,
        [
            Variant(name="a", model="churn/1", weight=80),
            Variant(name="b", model="churn/2", weight=20),
        ],
    )
    n = 600
    first = {c: served.serving.predict("churn", [{"customer_id": c}]) for c in range(n)}
    assert 0.14 <= Counter(r.variant for r in first.values())["b"] / n <= 0.26
    assert all(
        r.model_version == ("churn/2" if r.variant == "b" else "churn/1") for r in first.values()
    )
    again = {c: served.serving.predict("churn", [{"customer_id": c}]).variant for c in range(100)}
    assert all(first[c].variant == v for c, v in again.items())
    # an explicit routing key overrides the entity key, and is sticky too
    keyed = {
        served.serving.predict("churn", [{"customer_id": i}], routing_key="user-42").variant
        for i in range(20)
    }
    assert len(keyed) == 1


def test_shadow_is_scored_and_logged_but_never_returned(served: Platform) -> None:
    records: list[dict[str, Any]] = []
    runtime = runtime_for(served.serving)
    runtime.sink = records.extend
    _deploy(
        served,
        [
            Variant(name="a", model="churn/1", weight=100),
            Variant(name="s", model="churn/2", weight=0, shadow=True),
        ],
    )
    responses = [served.serving.predict("churn", [{"customer_id": c}]) for c in range(50)]
    assert {r.variant for r in responses} == {"a"}
    runtime.drain_shadow()
    shadow = [r for r in records if r["shadow"]]
    assert len(shadow) == 50 and {r["variant"] for r in shadow} == {"s"}
    assert {r["request_id"] for r in shadow} == {r.request_id for r in responses}
    assert all(r["prediction"] is not None and r["model_version"] == 2 for r in shadow)
    assert served.serving.deployment_stats("churn")["variants"]["s"]["requests"] == 50


def test_alias_move_swaps_model_without_failed_requests(
    served: Platform, models: MemoryModels
) -> None:
    _deploy(served, [Variant(name="a", model="churn@champion", weight=100)])
    runtime = runtime_for(served.serving)
    errors: list[BaseException] = []
    seen: Counter[str] = Counter()
    stop = threading.Event()

    def hammer() -> None:
        i = 0
        while not stop.is_set():
            try:
                seen[served.serving.predict("churn", [{"customer_id": i % 100}]).model_version] += 1
            except BaseException as exc:  # any failure fails the test
                errors.append(exc)
            i += 1

    t = threading.Thread(target=hammer)
    t.start()
    try:
        v3 = models.add("churn", Proba(train("tree", seed=3)))
        served.catalog.register_asset(f"model:churn@{v3}")
        models.aliases[("churn", "champion")] = v3
        assert runtime.refresh() == ["churn"]
        before = seen["churn/3"]
        while seen["churn/3"] < before + 20:
            pass
    finally:
        stop.set()
        t.join()
    assert not errors
    assert seen["churn/1"] > 0 and seen["churn/3"] > 0


def test_changes_from_another_process_are_picked_up_by_refresh(
    served: Platform, models: MemoryModels, features: Any
) -> None:
    _deploy(served, [Variant(name="a", model="churn/1", weight=100)])
    runtime = runtime_for(served.serving)
    assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/1"
    other = Platform.open(served.settings.project_dir)  # its own runtime, like another worker
    try:
        runtime_for(other.serving, models=models, features=features, refresh_interval=0)
        other.serving.update_deployment("churn", variants=[Variant(name="b", model="churn/2")])
        # cached: no catalog query per request, so the old version answers until a refresh
        assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/1"
        assert runtime.refresh() == ["churn"]
        assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/2"
        other.serving.delete_deployment("churn")
        runtime.refresh()
        assert "churn" not in runtime.cached()
    finally:
        other.close()


def test_another_process_change_is_served_without_waiting_for_the_refresh_tick(
    project_dir: Any, models: MemoryModels, features: Any
) -> None:
    """The runtime's change-feed watch swaps a deployment changed elsewhere at once,
    long before its (here 60-second) full refresh."""
    served = Platform.open(project_dir)
    other = Platform.open(project_dir)  # its own runtime, like another worker
    try:
        runtime_for(
            served.serving, models=models, features=features, refresh_interval=60,
            watch_interval=0.01, log_interval=0,
        )  # fmt: skip
        runtime_for(other.serving, models=models, features=features, refresh_interval=0)
        models.add("churn", Proba(train("logreg")))
        models.add("churn", Proba(train("tree")))
        served.catalog.register_asset("model:churn@1")
        served.catalog.register_asset("model:churn@2")
        _deploy(served, [Variant(name="a", model="churn/1", weight=100)])
        assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/1"
        time.sleep(0.05)  # the watcher thread has started and seen the current state
        other.serving.update_deployment("churn", variants=[Variant(name="b", model="churn/2")])
        deadline = time.monotonic() + 5
        version = "churn/1"
        while version == "churn/1" and time.monotonic() < deadline:
            version = served.serving.predict("churn", [{"customer_id": 1}]).model_version
            time.sleep(0.005)
        assert version == "churn/2"
        assert time.monotonic() < deadline - 4  # within a second, not at the 60 s tick
    finally:
        other.close()
        served.close()
