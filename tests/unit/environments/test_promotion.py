"""Promotion from dev into prod (protected) and into an unprotected environment."""

from __future__ import annotations

import pytest

from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.features import Entity, Feature, FeatureView
from shipyard.platform import Platform
from tests.unit.environments.conftest import Envs, model_in, person


def test_environments_are_listed_with_their_own_stores(envs: Envs) -> None:
    listed = envs.dev.environments.list_environments()
    assert [(e.name, e.current, e.protected, e.next) for e in listed] == [
        ("dev", True, False, "prod"),
        ("prod", False, True, None),
    ]
    assert listed[0].lake_root != listed[1].lake_root
    assert envs.prod.environments.get_environment("prod").current


def test_each_environment_is_its_own_catalog(envs: Envs) -> None:
    model_in(envs.dev, "own")
    with pytest.raises(NotFound):
        envs.prod.registry.get_registered_model("own")


def test_a_model_goes_to_prod_only_after_another_approver(envs: Envs) -> None:
    version = model_in(envs.dev)
    request = envs.dev.environments.promote_model("churn", version, target="prod", comment="Q4")
    assert (request.status, request.target, request.source) == ("pending", "prod", "dev")
    with pytest.raises(NotFound):  # nothing moved yet
        envs.prod.registry.get_registered_model("churn")
    # the requester may not approve their own request, even as an admin of prod
    with pytest.raises(PermissionDenied, match="self-approval"):
        envs.prod.environments.approve_promotion(request.id)
    alice = person(envs.prod, "alice", "approver")
    done = alice.environments.approve_promotion(request.id)
    assert (done.status, done.decided_by) == ("approved", "alice")
    mv = envs.prod.registry.get_model_version("churn", done.result["version"])
    assert mv.tags["shipyard.promoted_from"] == f"dev:models:/churn/{version}"
    assert mv.created_by == "local-admin"  # registered as the requester
    assert (
        envs.prod.registry.read_model_file("churn", mv.version, "weights.bin") == b"\x01\x02weights"
    )
    with pytest.raises(Conflict, match="not pending"):
        alice.environments.approve_promotion(request.id)
    approved = envs.prod.environments.list_promotions(status="approved").items
    assert request.id in [p.id for p in approved]


def test_a_rejected_promotion_changes_nothing(envs: Envs) -> None:
    request = envs.dev.environments.promote_model("nope", model_in(envs.dev, "nope"), target="prod")
    bob = person(envs.prod, "bob", "approver")
    assert bob.environments.reject_promotion(request.id, comment="no").status == "rejected"
    with pytest.raises(NotFound):
        envs.prod.registry.get_registered_model("nope")


def test_an_unprotected_target_is_applied_at_once(envs: Envs) -> None:
    prod_to_dev = envs.prod.environments  # dev is not protected
    model_in(envs.prod, "back")
    done = prod_to_dev.promote_model("back", 1, target="dev")
    assert done.status == "applied" and done.result == {
        "name": "back",
        "version": 1,
        "from": "prod:models:/back/1",
    }
    assert envs.dev.registry.get_model_version("back", 1).tags["shipyard.promoted_from"]


def test_who_may_promote(envs: Envs) -> None:
    version = model_in(envs.dev, "who")
    viewer = person(envs.dev, "vic", "viewer")
    with pytest.raises(PermissionDenied):
        viewer.environments.promote_model("who", version, target="prod")
    other_team = person(envs.dev, "rita", "editor", team="risk")
    with pytest.raises((PermissionDenied, NotFound)):
        other_team.environments.promote_model("who", version, target="prod")
    # an editor of ml in dev who is nobody in prod may not write there
    ed = person(envs.dev, "ed", "editor")
    with pytest.raises(PermissionDenied, match="not a principal of environment 'prod'"):
        ed.environments.promote_model("who", version, target="prod")
    # an approver of another team in prod may not approve ml's request
    request = envs.dev.environments.promote_model("who", version, target="prod")
    risk_approver = person(envs.prod, "rex", "approver", team="risk")
    with pytest.raises(PermissionDenied):
        risk_approver.environments.approve_promotion(request.id)
    assert envs.prod.environments.get_promotion(request.id).status == "pending"


def test_bad_targets_are_invalid(envs: Envs, platform: Platform) -> None:
    version = model_in(envs.dev, "bad")
    for target in ("dev", "qa", "../prod"):
        with pytest.raises(InvalidArgument):
            envs.dev.environments.promote_model("bad", version, target=target)
    with pytest.raises(InvalidArgument, match="no environment selected"):
        model_in(platform)
        platform.environments.promote_model("churn", 1, target="prod")


def _definitions(p: Platform) -> None:
    p.lake.write(
        "silver.orders",
        __import__("pandas").DataFrame(
            {
                "customer_id": [1],
                "amount": [2.0],
                "ts": __import__("pandas").to_datetime(["2026-01-01"]),
            }
        ),
        owner="ml",
    )
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"], owner="ml"),
            FeatureView(
                name="orders",
                entities=["customer"],
                source="silver.orders",
                timestamp_field="ts",
                features=[Feature("amount", "float64")],
                owner="ml",
            ),
        ]
    )
    p.pipelines.apply(
        [
            {
                "name": "nightly",
                "owner": "ml",
                "steps": [
                    {
                        "name": "refresh",
                        "action": "lake.refresh",
                        "args": {"table": "silver.orders"},
                    }
                ],
            }
        ]
    )


def test_definitions_are_promoted_as_a_reviewed_plan(envs: Envs) -> None:
    _definitions(envs.dev)
    _definitions_table_only(envs.prod)
    plan = envs.dev.environments.plan_definitions("prod")
    actions = {(c["kind"], c["name"], c["action"]) for c in plan.features["changes"]}
    assert ("feature_view", "orders", "create") in actions
    assert plan.pipelines == [{"name": "nightly", "action": "create", "diff": []}]
    assert plan.changes == 3
    with pytest.raises(Conflict, match="stale"):
        envs.dev.environments.promote_definitions("prod", digest="0" * 32)
    request = envs.dev.environments.promote_definitions("prod", digest=plan.digest)
    assert request.status == "pending" and request.team == "*"
    carol = person(envs.prod, "carol", "approver", team="*")
    done = carol.environments.approve_promotion(request.id)
    assert done.status == "approved"
    assert envs.prod.features.get_definition("feature_view", "orders").owner == "ml"
    assert envs.prod.pipelines.get("nightly").name == "nightly"
    again = envs.dev.environments.plan_definitions("prod")  # nothing left to do
    assert again.changes == 0


def _definitions_table_only(p: Platform) -> None:
    import pandas as pd

    p.lake.write(
        "silver.orders",
        pd.DataFrame({"customer_id": [1], "amount": [2.0], "ts": pd.to_datetime(["2026-01-01"])}),
        owner="ml",
    )


def test_definitions_need_an_admin(envs: Envs) -> None:
    ed = person(envs.dev, "ed2", "editor")
    with pytest.raises(PermissionDenied):
        ed.environments.plan_definitions("prod")
    with pytest.raises(PermissionDenied):
        ed.environments.promote_definitions("prod", digest="x")


def test_an_approval_that_cannot_be_carried_out_leaves_the_request_pending(envs: Envs) -> None:
    version = model_in(envs.dev, "gone")
    request = envs.dev.environments.promote_model("gone", version, target="prod")
    envs.dev.registry.delete_model_version("gone", version)  # the source went away meanwhile
    dora = person(envs.prod, "dora", "approver")
    with pytest.raises(NotFound):
        dora.environments.approve_promotion(request.id)
    after = envs.prod.environments.get_promotion(request.id)
    assert (after.status, after.decided_by, after.result) == ("pending", None, None)
