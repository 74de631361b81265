"""The same training job and search on a local 2-CPU Ray instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shipyard.errors import InvalidArgument
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from tests.unit.training.funcs import build_training_set

pytestmark = pytest.mark.slow
F = "tests.unit.training.funcs"


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_a_job_and_a_search_run_on_ray(platform: Platform, ray_local: Any) -> None:
    p = platform
    build_training_set(p)
    job = p.training.submit(
        f"{F}:train_lgbm",
        training_set="churn_train",
        backend="ray",
        register_as="churn",
        resources={"cpus": 1},
    )
    # the worker runs in-process here, so the Ray task reuses this process' Ray instance
    from shipyard.pipelines.models import Executor

    assert p.jobs.get(job.id).executor == Executor.SUBPROCESS
    p.jobs.queue  # noqa: B018 - the queue exists before the worker starts
    Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
    done = p.training.get(job.id)
    assert done.state == "succeeded", done.error
    assert done.model_version == "churn/1" and done.metrics["auc"] > 0.7
    run = p.tracking.get_run(done.run_id)
    assert [i.ref for i in run.inputs] == ["training_set:churn_train@1"]

    study = p.training.tune(
        f"{F}:quadratic",
        {"x": {"type": "float", "low": -4, "high": 4}},
        n_trials=4,
        metric="loss",
        direction="minimize",
        backend="ray",
        workers=2,
        study_name="on-ray",
    )
    assert study.complete == 4 and study.best is not None and study.best.run_id, study
    children = p.tracking.search_runs(
        filter=f"tags.mlflow.parentRunId = '{study.parent_run_id}'"
    ).items
    assert len(children) == 4 and all(r.status == "FINISHED" for r in children)


def test_gpus_are_refused_on_a_cluster_without_them(platform: Platform, ray_local: Any) -> None:
    from shipyard.training.models import Resources
    from shipyard.training.ray_backend import capacity
    from shipyard.training.resources import check_fits

    with pytest.raises(InvalidArgument, match="the Ray cluster has no GPU"):
        check_fits(Resources(gpus=1), capacity(ray_local), "the Ray cluster")


def test_a_job_fits_xgboost_data_parallel_on_ray_train(platform: Platform, ray_local: Any) -> None:
    """``workers: 2`` on the 2-CPU cluster: the function runs in the job's process (the
    driver), the fit on two Ray Train workers reading the lake's Parquet files."""
    import numpy as np

    from shipyard.training.data_parallel import check_workers
    from shipyard.training.models import Resources
    from shipyard.training.ray_backend import capacity
    from tests.unit.training.funcs import FEATURES

    p = platform
    with pytest.raises(
        InvalidArgument, match=r"3 Ray Train workers of 1 CPU.*has 2: ask for at most 2"
    ):
        check_workers(Resources(cpus=1, workers=3), capacity(ray_local))
    with pytest.raises(InvalidArgument, match=r"workers .* needs backend 'ray'"):
        p.training.submit(f"{F}:train_xgb", resources={"workers": 2}, backend="inprocess")

    build_training_set(p)
    job = p.training.submit(
        f"{F}:train_xgb",
        training_set="churn_train",
        backend="ray",
        ray_address=ray_local.get_runtime_context().gcs_address,  # the job's process joins it
        resources={"cpus": 1, "workers": 2},
        register_as="churn_xgb",
    )
    Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
    done = p.training.get(job.id)
    assert done.state == "succeeded", done.error
    assert done.model_version == "churn_xgb/1" and done.metrics["auc"] > 0.7
    run = p.tracking.get_run(done.run_id)
    tags = run.tags
    assert tags["shipyard.training.fit"] == "ray_train"
    assert tags["shipyard.training.world_size"] == "2"  # XGBoost's collective joined both
    assert run.params["xgboost.max_depth"] == "3"
    history = p.tracking.get_metric_history(done.run_id, "valid_auc")
    assert [m.step for m in history] == list(range(1, 21))
    assert history[-1].value == pytest.approx(done.metrics["auc"])

    loaded = p.registry.load_model("models:/churn_xgb/1")
    assert type(loaded.model).__name__ == "Booster"
    rows = p.training.data_ref("churn_train").arrow(FEATURES).to_pandas().head(10)
    got = np.asarray(loaded.predict(rows), dtype=float)
    assert got.shape == (10,) and ((got >= 0) & (got <= 1)).all()
