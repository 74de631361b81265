"""``shipyard plan``/``apply`` over every kind on an in-process Platform."""

from __future__ import annotations

import pytest

from shipyard import platform_code as pc
from shipyard.errors import Conflict, InvalidArgument, PermissionDenied
from shipyard.platform import Platform
from tests.unit.platform_code.conftest import FULL_YAML, PLATFORM_YAML, Write


def _actions(plan: pc.Plan) -> dict[tuple[str, str], str]:
    return {(c.kind, c.name): c.action for c in plan.changes}


def test_every_kind_plan_apply_second_apply_traffic_and_prune(
    models: Platform, write: Write
) -> None:
    plat = models
    plan = pc.plan(plat, write(yaml=FULL_YAML))
    assert _actions(plan) == {
        ("principal", "alice"): "create",
        ("principal", "bob"): "create",
        ("quota", "team/ml/deployments"): "create",
        ("table", "silver.orders"): "create",
        ("feature", "entity:customer"): "create",
        ("feature", "feature_view:orders"): "create",
        ("pipeline", "nightly"): "create",
        ("monitor", "monitor_churn"): "create",
        ("deployment", "churn"): "create",
    }
    sources = {c.name: c.source for c in plan.changes}
    assert sources["alice"].endswith("platform.yaml:3")
    assert sources["churn"].endswith("platform.yaml:15")
    assert sources["feature_view:orders"].endswith("features.py:4")
    assert sources["nightly"].endswith("pipelines.py:4")

    saved = pc.Plan.model_validate_json(plan.model_dump_json())  # the plan is a JSON document
    assert len(pc.apply(plat, saved).pending) == 9
    assert plat.security.get_principal("alice").roles == {"ml": "editor"}
    assert plat.security.get_principal("bob").kind == "service"
    assert plat.quotas.list_quotas(subject="ml").items[0].quota.limit == 5
    assert plat.lake.get_definition("silver.orders").owner == "ml"
    dep = plat.serving.get_deployment("churn")
    assert [(v.model, v.weight) for v in dep.variants] == [("churn/1", 90), ("churn/2", 10)]
    assert plat.pipelines.get("monitor_churn").spec["schedule"]["cron"] == "0 * * * *"
    assert plat.pipelines.get("nightly").owner == "ml"
    assert plat.features.get_definition("feature_view", "orders").owner == "ml"

    assert pc.plan(plat, write(yaml=FULL_YAML)).pending == []  # files and platform agree
    assert pc.apply(plat, saved).pending == []  # the same plan again changes nothing
    assert plat.serving.get_deployment("churn").version == dep.version

    # traffic: a change of weights is one deployment update
    shifted = FULL_YAML.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50")
    plan = pc.plan(plat, write(yaml=shifted))
    assert [(c.kind, c.action) for c in plan.pending] == [("deployment", "update")]
    assert any("weight" in d for d in plan.pending[0].diff)
    pc.apply(plat, plan)
    assert [v.weight for v in plat.serving.get_deployment("churn").variants] == [50, 50]

    # prune: what the files no longer declare goes (tables hold data and stay)
    files = write(yaml=PLATFORM_YAML.split("quotas:")[0], features="", pipelines="")
    assert pc.plan(plat, files).pending == []  # without prune nothing undeclared is touched
    plan = pc.plan(plat, files, prune=True)
    assert sorted((c.kind, c.name) for c in plan.pending) == [
        ("deployment", "churn"),
        ("feature", "entity:customer"),
        ("feature", "feature_view:orders"),
        ("monitor", "monitor_churn"),
        ("pipeline", "nightly"),
        ("quota", "team/ml/deployments"),
    ]
    with pytest.raises(InvalidArgument, match="prune"):
        pc.apply(plat, plan, prune=False)
    pc.apply(plat, plan)
    assert plat.quotas.list_quotas().items == []
    assert plat.serving.list_deployments().items == []
    assert plat.features.list_definitions().items == []
    assert plat.pipelines.get("nightly").paused  # paused: its runs and history are kept
    assert plat.lake.get_definition("silver.orders").owner == "ml"
    assert pc.plan(plat, files, prune=True).pending == []


def test_a_plan_made_against_a_changed_state_is_refused(plat: Platform, write: Write) -> None:
    files = write()
    plan = pc.plan(plat, files)
    plat.quotas.set_quota("team", "ml", "deployments", 7)  # someone changes the platform
    with pytest.raises(Conflict, match="changed since this plan was made"):
        pc.apply(plat, plan)
    assert [t.name for t in plat.lake.list_tables().items] == ["bronze.orders"]
    again = pc.plan(plat, files)
    assert _actions(again)[("quota", "team/ml/deployments")] == "update"
    assert len(pc.apply(plat, again).pending) == 7


def test_only_admins_apply_roles_and_quotas_and_owners_their_resources(
    plat: Platform, write: Write
) -> None:
    sec = plat.security
    sec.create_principal("mal", team="other", role="editor")
    sec.create_principal("eve", team="ml", role="editor")
    role_less = plat.as_principal(sec.create_principal("nob", team="ml", role="viewer"))
    sec.revoke_role("nob", team="ml")
    for name in ("mal", "eve"):  # planning reads the whole platform: read on the default team
        sec.grant(name, team="default", role="viewer")
    mal, eve = (plat.as_principal(sec.get_principal(n)) for n in ("mal", "eve"))
    files = write()
    plan = pc.plan(plat, files)
    for who in (mal, eve):  # roles and quotas need an admin of every team
        with pytest.raises(PermissionDenied):
            pc.apply(who, plan)
    with pytest.raises(PermissionDenied):
        pc.plan(role_less, files)
    assert pc.plan(plat, files).fingerprint == plan.fingerprint  # nothing half-applied
    pc.apply(plat, plan)
    # ml's editor may change ml's table; another team's editor may not
    changed = PLATFORM_YAML.replace("amount > 0", "amount > 1")
    files = write(yaml=changed.split("quotas:")[0] + "tables:" + changed.split("tables:")[1])
    with pytest.raises(InvalidArgument, match=r"bronze\.orders', which does not exist"):
        pc.plan(mal, files)  # team ml's tables are not mal's to see
    sec.grant("mal", team="ml", role="viewer")
    mal = plat.as_principal(sec.get_principal("mal"))
    with pytest.raises(PermissionDenied):  # seeing them is not writing them
        pc.apply(mal, pc.plan(mal, files))
    done = pc.apply(eve, pc.plan(eve, files))
    assert [(c.kind, c.action) for c in done.pending] == [("table", "update")]
    assert "amount > 1" in plat.lake.get_definition("silver.orders").sql
