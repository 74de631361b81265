"""Metrics that MLflow 3 sends with a ``model_id`` (issue #12 item 1)."""

from __future__ import annotations

import math

from shipyard.platform import Platform


def test_model_metrics_do_not_repeat_the_run_history(platform: Platform) -> None:
    with platform.tracking.start_run(experiment="mm") as run:
        points = [
            {"key": "loss", "value": 1 / (s + 1), "step": s, "timestamp": 10 + s} for s in range(5)
        ]
        points.append({"key": "odd", "value": math.nan, "step": 0, "timestamp": 1})
        platform.tracking.log_batch(run.id, metrics=points)
        model = platform.tracking.create_logged_model(run.experiment_id, source_run_id=run.id)
        again = [{**p, "model_id": model.id} for p in points]
        # the exact points again (MLflow 3's log_model), a new point, and a repeat of it
        new = {"key": "loss", "value": 0.1, "step": 5, "timestamp": 99, "model_id": model.id}
        written = platform.tracking.log_batch(run.id, metrics=[*again, new, new])
    assert written == 1
    history = platform.tracking.get_metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in history] == [
        *[(s, 1 / (s + 1)) for s in range(5)],
        (5, 0.1),
    ]
    assert len(platform.tracking.get_metric_history(run.id, "odd")) == 1
    assert platform.tracking.get_run(run.id).metrics["loss"] == 0.1


def test_a_changed_value_with_a_model_id_is_a_new_point(platform: Platform) -> None:
    with platform.tracking.start_run(experiment="mm") as run:
        platform.tracking.log_batch(
            run.id, metrics=[{"key": "acc", "value": 0.5, "step": 0, "timestamp": 7}]
        )
        platform.tracking.log_batch(
            run.id,
            metrics=[{"key": "acc", "value": 0.6, "step": 0, "timestamp": 7, "model_id": "m-x"}],
        )
    assert [m.value for m in platform.tracking.get_metric_history(run.id, "acc")] == [0.5, 0.6]
