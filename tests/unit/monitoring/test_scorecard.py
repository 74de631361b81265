"""The platform scorecard from the audit log, drift reports and live deployments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.monitoring import scorecard as sc
from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.contract.serving.suite import build_served_model


def test_scorecard_counts_deployments_rollbacks_lead_time_and_reuse(platform: Platform) -> None:
    build_served_model(platform, n=50)
    platform.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    platform.serving.create_deployment(
        "churn2",
        variants=[Variant(name="a", model="churn/2")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    platform.serving.update_deployment("churn", variants=[Variant(name="a", model="churn/2")])
    platform.serving.rollback_deployment("churn")
    card = platform.monitoring.scorecard(days=7)
    assert card.deployments == 3 and card.rollbacks == 1 and card.failures == 1
    assert card.success_rate == pytest.approx(2 / 3)
    assert card.deployments_per_week == pytest.approx(3.0)
    assert card.lead_times_measured == 2 and card.lead_time_median_s is not None
    assert card.lead_time_median_s >= 0
    assert card.models_in_production == 1 and card.deployments_live == 2
    assert card.incidents == 0
    [team] = card.adoption
    assert team.team == platform.context.default_team and team.runs >= 2 and team.deployments == 3
    assert card.reused_feature_views == {}  # one model (churn) reads the views


def test_incidents_open_on_drift_and_resolve_on_ok() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ("a", "ok", t0),
        ("a", "drift", t0 + timedelta(minutes=1)),
        ("a", "drift", t0 + timedelta(minutes=2)),
        ("b", "drift", t0 + timedelta(minutes=3)),
        ("a", "ok", t0 + timedelta(minutes=11)),
    ]
    assert sc.incidents(rows) == (2, 1, [600.0])
    assert sc.reuse({"m1": {"v1", "v2"}, "m2": {"v2"}}) == {"v2": ["m1", "m2"]}


def test_scorecard_refusals(platform: Platform) -> None:
    with pytest.raises(InvalidArgument):
        platform.monitoring.scorecard(days=0)
    platform.security.create_principal("ed", role="editor")
    ed = platform.as_principal(platform.security.get_principal("ed"))
    with pytest.raises(PermissionDenied):
        ed.monitoring.scorecard()
