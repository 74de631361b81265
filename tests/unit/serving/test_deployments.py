from __future__ import annotations

import pytest

from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.serving import Variant


def _create(p: Platform, **kw):  # type: ignore[no-untyped-def]
    return p.serving.create_deployment(
        "churn",
        variants=kw.pop("variants", [Variant(name="a", model="churn@champion", weight=100)]),
        feature_service="churn",
        entity_keys=["customer_id"],
        **kw,
    )


def test_create_is_a_versioned_audited_asset_with_lineage(served: Platform) -> None:
    dep = _create(served)
    assert (dep.name, dep.version) == ("churn", 1)
    asset = served.catalog.get_asset("deployment:churn")
    assert asset.version == 1 and asset.properties["spec"]["feature_service"] == "churn"
    graph = served.catalog.lineage("deployment:churn", direction="upstream")
    edges = {(str(e.source), e.operation) for e in graph.edges}
    assert ("model:churn@1", "deploy") in edges
    records = served.audit.list_records(action="serving.create_deployment").items
    assert records and records[0].outcome == "ok" and records[0].asset == "deployment:churn@1"


def test_predict_in_process_with_online_features(served: Platform) -> None:
    _create(served)
    resp = served.serving.predict("churn", [{"customer_id": 7}, {"customer_id": 8}])
    assert resp.variant == "a" and resp.model_version == "churn/1"
    assert len(resp.predictions) == 2 and all(0 <= p <= 1 for p in resp.predictions)
    assert resp.feature_status[0]["f0"] == "PRESENT"


def test_missing_entity_served_with_status_or_refused(served: Platform) -> None:
    _create(served)
    resp = served.serving.predict("churn", [{"customer_id": 7}])
    assert resp.feature_status[0]["f0"] == "PRESENT"
    served.serving.update_deployment("churn", require_features=True)
    with pytest.raises(InvalidArgument, match="no online features"):
        served.serving.predict("churn", [{"customer_id": 99999}])


def test_bad_specs_are_refused(served: Platform) -> None:
    with pytest.raises(InvalidArgument, match="sum to 100"):
        _create(served, variants=[Variant(name="a", model="churn@champion", weight=60)])
    with pytest.raises(InvalidArgument, match="does not exist"):
        _create(served, variants=[Variant(name="a", model="churn/9", weight=100)])
    with pytest.raises(InvalidArgument, match="name@alias or name/version"):
        _create(served, variants=[Variant(name="a", model="churn", weight=100)])
    with pytest.raises(NotFound):
        served.serving.get_deployment("churn")  # nothing half-written
    _create(served)
    with pytest.raises(AlreadyExists):
        _create(served)


def test_bad_input_names_the_field(served: Platform) -> None:
    _create(served, request_fields={"amount": "float64"})
    with pytest.raises(NotFound):
        served.serving.predict("nope", [{"customer_id": 1}])
    with pytest.raises(InvalidArgument, match="missing entity key 'customer_id'"):
        served.serving.predict("churn", [{"amount": 1.0}])
    with pytest.raises(InvalidArgument, match="missing request field 'amount'"):
        served.serving.predict("churn", [{"customer_id": 1}])
    with pytest.raises(InvalidArgument, match=r"amount: expected float64, got str"):
        served.serving.predict("churn", [{"customer_id": 1, "amount": "x"}])
    with pytest.raises(InvalidArgument, match="non-empty list"):
        served.serving.predict("churn", [])


def test_update_and_rollback_are_new_versions(served: Platform) -> None:
    _create(served)
    v2 = served.serving.update_deployment(
        "churn", variants=[Variant(name="b", model="churn/2", weight=100)]
    )
    assert v2.version == 2
    assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/2"
    back = served.serving.rollback_deployment("churn")
    assert back.version == 3 and back.spec.variants[0].name == "a"
    assert served.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/1"
    assert [d.version for d in served.serving.list_deployment_versions("churn").items] == [1, 2, 3]
    with pytest.raises(NotFound):
        served.serving.rollback_deployment("churn", to_version=42)


def test_predict_needs_predict_permission(served: Platform) -> None:
    _create(served)
    viewer = served.security.create_principal("vera", role="viewer")
    predictor = served.security.create_principal("pat", role="predictor")
    with pytest.raises(PermissionDenied):
        served.as_principal(viewer).serving.predict("churn", [{"customer_id": 1}])
    assert served.as_principal(predictor).serving.predict("churn", [{"customer_id": 1}])
    with pytest.raises(PermissionDenied):
        served.as_principal(predictor).serving.update_deployment("churn", require_features=True)


def test_models_load_once_per_process(served: Platform, models) -> None:  # type: ignore[no-untyped-def]
    _create(served)
    for i in range(20):
        served.serving.predict("churn", [{"customer_id": i}])
    assert models.loads.count(models.resolve("churn", alias="champion", version=None)) == 1
