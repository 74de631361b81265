"""Definitions promotion covers every kind platform as code knows, through its adapters."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import Conflict
from shipyard.platform import Platform
from shipyard.platform_code import load

#: Creating the deployment starts a model worker in each environment (~2 s each idle).
pytestmark = pytest.mark.slow

DECLARED = """\
quotas:
  - {scope: team, subject: ml, resource: deployments, limit: 5}
tables:
  - name: silver.orders
    sql: SELECT * FROM bronze.orders WHERE amount > 0
    owner: ml
deployments:
  - name: churn
    owner: ml
    variants:
      - {name: a, model: churn/1, weight: 90}
      - {name: b, model: churn/1, weight: 10}
    request_fields: {a: float64, b: float64}
monitors:
  - deployment: churn
    schedule: "0 * * * *"
"""
VECTORS = {
    "name": "items",
    "table": "gold.items",
    "id_column": "item_id",
    "vector_column": "embedding",
    "dimension": 4,
}


@pytest.fixture(scope="module")
def dev_qa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Platform]]:
    """``dev`` declares one of every kind; ``qa`` (unprotected) has the raw tables only."""
    project = tmp_path_factory.mktemp("defs")
    (project / "shipyard.yaml").write_text("environments:\n  names: [dev, qa]\n  protected: []\n")
    dev = Platform.open(project, environment="dev")
    qa = Platform.open(project, environment="qa")
    try:
        for p in (dev, qa):
            orders = pd.DataFrame({"customer_id": [1, 2], "amount": [2.0, -1.0]})
            p.lake.write("bronze.orders", orders, owner="ml")
        _models(dev)
        dev.lake.write("gold.items", _items(), owner="ml")
        dev.vectors.apply([VECTORS])
        (project / "platform.yaml").write_text(DECLARED)
        dev.platform_code.apply(dev.platform_code.plan(load([project / "platform.yaml"])))
        yield dev, qa
    finally:
        dev.close()
        qa.close()


def _models(p: Platform) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    with p.tracking.start_run(experiment="churn-exp") as run:
        run.log_model(LogisticRegression().fit(X, X.a > X.b), "model")
    p.registry.register_model("churn", source=f"runs:/{run.id}/model", owner="ml")


def _items() -> pa.Table:
    vecs = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    return pa.table(
        {
            "item_id": pa.array([1, 2, 3], pa.int64()),
            "embedding": pa.array(vecs.tolist(), type=pa.list_(pa.float32())),
        }
    )


def test_every_kind_is_promoted_and_what_the_target_lacks_is_refused(
    dev_qa: tuple[Platform, Platform],
) -> None:
    dev, qa = dev_qa
    plan = dev.environments.plan_definitions("qa")
    # qa has neither the model versions nor gold.items: one line each, the rest goes ahead
    assert any("deployment 'churn'" in r and "churn" in r for r in plan.refused)
    assert any("monitor" in r for r in plan.refused)  # its deployment was refused in turn
    (vector,) = [r for r in plan.refused if "items" in r]
    assert vector.startswith("dev/vector_index/items:") and "gold.items" in vector
    assert "\n" not in vector
    wanted = {(c["kind"], c["name"], c["action"]) for c in plan.resources}
    assert {("quota", "team/ml/deployments", "create"), ("table", "silver.orders", "create")} <= (
        wanted
    )
    done = dev.environments.promote_definitions("qa", digest=plan.digest)
    assert done.status == "applied" and len(done.result["refused"]) == 3
    assert qa.lake.get_definition("silver.orders").sql.startswith("SELECT")
    limits = {s.quota.key: s.quota.limit for s in qa.quotas.list_quotas().items}
    assert limits[("team", "ml", "deployments")] == 5

    # once the model version and the table are there, the rest follows
    dev.environments.promote_model("churn", 1, target="qa")
    qa.lake.write("gold.items", _items(), owner="ml")
    plan = dev.environments.plan_definitions("qa")
    assert plan.refused == []
    assert {(c["kind"], c["action"]) for c in plan.resources if c["action"] != "unchanged"} == {
        ("deployment", "create"),
        ("monitor", "create"),
        ("vector_index", "create"),
    }
    assert plan.vectors == [{"name": "items", "action": "create", "diff": []}]
    dev.environments.promote_definitions("qa", digest=plan.digest)
    traffic = {v.name: v.weight for v in qa.serving.get_deployment("churn").spec.variants}
    assert traffic == {"a": 90, "b": 10}
    assert qa.vectors.get("items").spec.table == "gold.items"
    assert "monitor" in (qa.pipelines.get("monitor_churn").spec.get("tags") or [])


def test_nothing_to_promote_makes_no_request(dev_qa: tuple[Platform, Platform]) -> None:
    dev, qa = dev_qa
    first = dev.environments.plan_definitions("qa")
    if first.changes:  # when run alone: bring qa up to date first
        dev.environments.promote_definitions("qa", digest=first.digest)
    before = len(qa.environments.list_promotions().items)
    plan = dev.environments.plan_definitions("qa")
    assert plan.changes == 0
    with pytest.raises(Conflict, match="nothing to promote"):
        dev.environments.promote_definitions("qa", digest=plan.digest)
    assert len(qa.environments.list_promotions().items) == before


def test_a_changed_target_makes_the_plan_stale(dev_qa: tuple[Platform, Platform]) -> None:
    dev, qa = dev_qa
    dev.quotas.set_quota("team", "ml", "deployments", 7)
    plan = dev.environments.plan_definitions("qa")
    qa.quotas.set_quota("team", "ml", "deployments", 6)
    with pytest.raises(Conflict, match="stale"):
        dev.environments.promote_definitions("qa", digest=plan.digest)


def test_a_new_principal_in_the_target_does_not_make_the_plan_stale(
    dev_qa: tuple[Platform, Platform],
) -> None:
    dev, qa = dev_qa
    dev.quotas.set_quota("team", "ml", "concurrent_jobs", 3)
    plan = dev.environments.plan_definitions("qa")
    qa.security.create_principal("newcomer", team="search", role="approver")  # a new team too
    done = dev.environments.promote_definitions("qa", digest=plan.digest)
    assert "team/ml/concurrent_jobs" in [c["name"] for c in done.result["changes"]]
