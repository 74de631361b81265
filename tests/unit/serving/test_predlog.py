"""The inference log: asynchronous, batched, idempotent on retry, never in the way."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.context import logger_for, runtime_for
from shipyard.serving.predlog import LOG_TABLE, PredictionLogger, lake_writer


@pytest.fixture
def deployed(served: Platform) -> Platform:
    served.serving.create_deployment(
        "churn",
        variants=[
            Variant(name="a", model="churn/1", weight=50),
            Variant(name="b", model="churn/2", weight=50),
        ],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    return served


def test_predictions_are_buffered_then_flushed_to_delta(deployed: Platform) -> None:
    logger = logger_for(deployed.serving)
    responses = [
        deployed.serving.predict("churn", [{"customer_id": c}, {"customer_id": c + 1}])
        for c in range(10)
    ]
    assert logger.buffered == 20  # nothing written on the request path
    assert logger.flush() == 20  # into the spool, not the Delta table (ADR 0052)
    runtimes = deployed.serving.runtimes
    assert runtimes.spool.pending() == (1, 20) and not deployed.lake.storage.exists(LOG_TABLE)
    assert runtimes.flush_log() == 20 and runtimes.spool.pending() == (0, 0)
    log = deployed.lake.read(LOG_TABLE).to_pandas().sort_values(["request_id", "row"])
    assert len(log) == 20
    by_id = {r.request_id: r for r in responses}
    for row in log.itertuples():
        resp = by_id[row.request_id]
        assert row.variant == resp.variant
        assert row.prediction == pytest.approx(resp.predictions[row.row])
        assert f"churn/{row.model_version}" == resp.model_version
        assert row.entity_key.startswith("customer_id=") and '"f0"' in row.features
        assert row.latency_ms > 0 and not isinstance(row.error, str) and not row.shadow


def test_background_flush_spools_within_the_interval(served: Platform, models, features) -> None:  # type: ignore[no-untyped-def]
    served.serving.runtimes.reset()
    runtime_for(
        served.serving, models=models, features=features, refresh_interval=0, log_interval=0.05
    )
    served.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn/1")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )
    served.serving.predict("churn", [{"customer_id": 1}])
    deadline = time.monotonic() + 5
    while logger_for(served.serving).written < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert served.serving.runtimes.spool.pending() == (1, 1)  # spooled by the thread


def test_a_failed_write_is_retried_without_loss_or_duplicates(deployed: Platform) -> None:
    real = lake_writer(lambda: deployed.lake)
    calls: list[str] = []

    def flaky(table: pa.Table, batch_id: str) -> None:
        calls.append(batch_id)
        real(table, batch_id)
        if len(calls) == 1:
            raise OSError("connection reset after the commit")  # ambiguous: it did land

    logger = PredictionLogger(flaky, interval=0)
    runtime_for(deployed.serving).sink = logger
    for c in range(5):
        deployed.serving.predict("churn", [{"customer_id": c}])
    assert logger.flush() == 0 and logger.failures == 1 and logger.buffered == 5
    deployed.serving.predict("churn", [{"customer_id": 99}])
    assert logger.flush() == 5  # the pending batch first, with the same id
    assert logger.flush() == 1
    assert calls[0] == calls[1]
    assert deployed.lake.read(LOG_TABLE).num_rows == 6


def test_logging_can_be_turned_off_per_deployment(deployed: Platform) -> None:
    deployed.serving.update_deployment("churn", log_predictions=False)
    deployed.serving.predict("churn", [{"customer_id": 1}])
    assert logger_for(deployed.serving).buffered == 0


def test_report_with_ground_truth_by_request_and_by_entity(deployed: Platform) -> None:
    responses = [deployed.serving.predict("churn", [{"customer_id": c}]) for c in range(200)]
    assert deployed.serving.flush_prediction_log() == 200
    truth = [
        {"request_id": r.request_id, "outcome": float(c % 3 == 0)}
        for c, r in enumerate(responses[:100])
    ]
    truth += [{"entity": {"customer_id": c}, "outcome": float(c % 3 == 0)} for c in range(100, 200)]
    assert deployed.serving.log_ground_truth("churn", truth) == 200
    report = deployed.serving.get_report("churn")
    assert report.control == "a" and [v.variant for v in report.variants] == ["a", "b"]
    a, b = report.variants
    assert a.requests + b.requests == 200 and a.labeled + b.labeled == 200
    assert a.errors == 0 and a.p50_ms is not None and a.p99_ms >= a.p50_ms
    assert a.brier is not None and a.brier_ci95 is not None
    assert a.brier_ci95[0] <= a.brier <= a.brier_ci95[1]
    assert b.p_value_outcome is not None and 0 <= b.p_value_outcome <= 1
    assert a.p_value_outcome is None  # the control is not tested against itself
    with pytest.raises(InvalidArgument, match="outcome"):
        deployed.serving.log_ground_truth("churn", [{"request_id": "x"}])
    with pytest.raises(InvalidArgument, match="request_id or an entity"):
        deployed.serving.log_ground_truth("churn", [{"outcome": 1}])


def test_report_before_any_log_is_empty(deployed: Platform) -> None:
    assert deployed.serving.get_report("churn").variants == []
