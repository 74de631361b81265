"""Model performance with delayed labels: ground truth joined to predictions as it arrives."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.unit.monitoring.conftest import N, write_features


def _predict(p: Platform, n: int) -> list[tuple[str, float]]:
    out = []
    for i in range(n):
        r = p.serving.predict("churn", [{"customer_id": i % N}])
        out.append((r.request_id, float(r.predictions[0])))
    p.serving.flush_prediction_log()
    return out


def test_metrics_grow_as_labels_arrive_and_agree_with_sklearn(monitored: Platform) -> None:
    write_features(monitored, seed=0)
    served = _predict(monitored, 200)
    before = monitored.monitoring.model_performance("churn", window_seconds=3600)
    assert before.task is None and "no ground truth" in before.message
    assert [(v.variant, v.predictions, v.labeled) for v in before.variants] == [("a", 200, 0)]

    rng = np.random.default_rng(1)
    truth = {rid: float(rng.random() < pred) for rid, pred in served}
    first = served[:80]
    monitored.serving.log_ground_truth(
        "churn", [{"request_id": rid, "row": 0, "outcome": truth[rid]} for rid, _ in first]
    )
    partial = monitored.monitoring.model_performance("churn", window_seconds=3600)
    a = partial.variants[0]
    assert partial.task == "classification"
    assert (a.labeled, a.coverage) == (80, pytest.approx(0.4))
    y = [truth[rid] for rid, _ in first]
    s = [pred for _, pred in first]
    assert a.auc == pytest.approx(roc_auc_score(y, s))
    assert a.accuracy == pytest.approx(accuracy_score(y, [x >= 0.5 for x in s]))
    assert a.rmse == pytest.approx(mean_squared_error(y, s) ** 0.5)
    assert a.median_label_delay_s is not None and a.median_label_delay_s >= 0

    # the rest arrive later; a corrected label replaces the first one posted
    rest = [{"request_id": rid, "row": 0, "outcome": truth[rid]} for rid, _ in served[80:]]
    rid0 = served[0][0]
    rest.append({"request_id": rid0, "row": 0, "outcome": 1.0 - truth[rid0]})
    monitored.serving.log_ground_truth("churn", rest)
    full = monitored.monitoring.model_performance("churn", window_seconds=3600, bucket_seconds=600)
    truth[rid0] = 1.0 - truth[rid0]
    y = [truth[rid] for rid, _ in served]
    s = [pred for _, pred in served]
    assert full.variants[0].labeled == 200 and full.variants[0].coverage == 1.0
    assert full.variants[0].auc == pytest.approx(roc_auc_score(y, s))
    assert sum(b.labeled for b in full.buckets) == 200 and len(full.buckets) >= 1
    assert all(b.start >= full.window_start and b.end <= full.window_end for b in full.buckets)


def test_labels_by_entity_and_regression_metrics(monitored: Platform) -> None:
    write_features(monitored, seed=0)
    served = _predict(monitored, 20)  # customers 0..19
    outcomes = [{"entity": {"customer_id": i}, "outcome": float(i) / 10} for i in range(20)]
    monitored.serving.log_ground_truth("churn", outcomes)
    rep = monitored.monitoring.model_performance("churn", window_seconds=3600)
    a = rep.variants[0]
    assert rep.task == "regression" and a.labeled == 20 and a.auc is None and a.accuracy is None
    y = [i / 10 for i in range(20)]
    assert a.rmse == pytest.approx(mean_squared_error(y, [p for _, p in served]) ** 0.5)


def test_refusals(monitored: Platform) -> None:
    with pytest.raises(InvalidArgument):
        monitored.monitoring.model_performance("churn", window_seconds=0)
    with pytest.raises(InvalidArgument):
        monitored.monitoring.model_performance("churn", window_seconds=3600, bucket_seconds=1)
    with pytest.raises(InvalidArgument):
        monitored.monitoring.model_performance("churn", window_seconds=60, bucket_seconds=120)
    with pytest.raises(NotFound):
        monitored.monitoring.model_performance("nope")
    empty = monitored.monitoring.model_performance("churn")
    assert empty.variants == [] and "no predictions" in empty.message
    monitored.security.create_principal("eve", role="editor", team="other")
    eve = monitored.as_principal(monitored.security.get_principal("eve"))
    with pytest.raises((PermissionDenied, NotFound)):
        eve.monitoring.model_performance("churn")
