"""Profiles on register, drift over the inference log, stored reports and alerts."""

from __future__ import annotations

import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.contract.serving.suite import FEATURES
from tests.unit.monitoring.conftest import N, serve, write_features


def test_registering_a_version_profiles_its_training_table(monitored: Platform) -> None:
    prof = monitored.monitoring.get_profile("model", "churn", 3)
    assert prof.subject == "model:churn@3" and prof.rows == N
    assert prof.source.startswith("gold.customer_features@")
    f0 = prof.features["f0"]
    assert f0.kind == "numeric" and f0.count == N and f0.nulls == 0 and sum(f0.counts) == N
    assert f0.distinct == N and len(f0.edges) == 99
    # shown in the catalog: the model's asset lists its versions' reference profiles
    shown = monitored.catalog.get_asset("model:churn").properties["reference_profiles"]
    assert list(shown) == ["3"] and shown["3"]["profile_id"] == prof.id
    assert shown["3"]["rows"] == N and "f0" in shown["3"]["features"]
    # versions 1 and 2 logged no training data: registered all the same, without a profile
    with pytest.raises(NotFound):
        monitored.monitoring.get_profile("model", "churn", 1)


def test_no_drift_on_the_training_distribution_then_drift_and_an_alert(
    monitored: Platform,
) -> None:
    write_features(monitored, shift=0.0, seed=0)  # the same rows the model was trained on
    serve(monitored)
    ok = monitored.monitoring.run_drift("churn", window_seconds=600)
    assert ok.status == "ok", ok
    assert ok.rows == N and ok.model == "churn" and ok.model_version == 3
    assert {f.feature for f in ok.features} == set(FEATURES)
    assert "customer_id" in ok.message  # profiled (a training column), never logged as one
    assert ok.thresholds.pvalue == 0.01
    assert not ok.drifted_features

    write_features(monitored, shift=1.5, seed=2)
    serve(monitored)
    bad = monitored.monitoring.run_drift("churn", window_seconds=600)
    assert bad.status == "drift"
    assert set(bad.drifted_features) >= set(FEATURES)
    assert all(f.psi > 0.2 and f.ks is not None and f.ks > 0.1 for f in bad.features if f.drifted)

    stored = monitored.monitoring.list_drift_reports("churn")
    assert [r.id for r in stored] == [bad.id, ok.id]
    alerts = monitored.events.read_records("monitoring.alerts")
    assert [a.value["report_id"] for a in alerts] == [bad.id]
    assert set(alerts[0].value["features"]) >= set(FEATURES)


def test_a_short_window_is_insufficient_not_drift(monitored: Platform) -> None:
    serve(monitored, n=20)
    report = monitored.monitoring.run_drift("churn")
    assert report.status == "insufficient_data" and "20 rows" in report.message
    assert monitored.events.read_records("monitoring.alerts") == []


def test_per_deployment_thresholds_come_from_settings(project_dir) -> None:  # type: ignore[no-untyped-def]
    (project_dir / "shipyard.yaml").write_text(
        "monitoring:\n  deployments:\n    churn: {psi: 0.05, min_rows: 10}\n"
    )
    with Platform.open(project_dir) as p:
        t = p.monitoring.thresholds("churn")
        assert (t.psi, t.min_rows, t.js) == (0.05, 10, 0.1)
        assert p.monitoring.thresholds("other").psi == 0.2


def test_profile_any_table_and_refusals(monitored: Platform) -> None:
    prof = monitored.monitoring.profile_table("gold.customer_features", columns=["f0", "f1"])
    assert set(prof.features) == {"f0", "f1"} and prof.kind == "table"
    assert monitored.monitoring.get_profile("table", "gold.customer_features").id == prof.id
    with pytest.raises(NotFound):
        monitored.monitoring.profile_table("gold.customer_features", columns=["nope"])
    with pytest.raises(InvalidArgument):
        monitored.monitoring.run_drift("churn", window_seconds=0)
    with pytest.raises(NotFound):
        monitored.monitoring.run_drift("nope")
    monitored.security.create_principal("eve", role="editor", team="other")
    eve = monitored.as_principal(monitored.security.get_principal("eve"))
    with pytest.raises(PermissionDenied):
        eve.monitoring.run_drift("churn")
    with pytest.raises(PermissionDenied):
        eve.monitoring.get_profile("model", "churn", 3)
