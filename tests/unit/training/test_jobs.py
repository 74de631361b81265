"""Training jobs: tracked runs through the job queue, with resources, failures and limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.training.code import code_tags
from shipyard.training.models import Resources
from shipyard.training.resources import wait_for
from tests.unit.training.funcs import build_training_set

F = "tests.unit.training.funcs"


def drain(p: Platform) -> int:
    return Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)


def test_a_job_is_a_tracked_run_with_data_version_params_and_registration(
    platform: Platform,
) -> None:
    p = platform
    build_training_set(p)
    job = p.training.submit(
        f"{F}:train_lgbm",
        training_set="churn_train",
        params={"learning_rate": 0.2},
        resources={"cpus": 1, "memory_mb": 2048},
        register_as="churn",
        backend="inprocess",
    )
    assert job.state == "queued" and job.training_set == "training_set:churn_train@1"
    assert p.tracking.get_run(job.run_id).status == "SCHEDULED"
    assert drain(p) == 1
    done = p.training.get(job.id)
    assert done.state == "succeeded", done.error
    assert done.metrics["auc"] > 0.7 and done.model_version == "churn/1"
    run = p.tracking.get_run(job.run_id)
    assert run.status == "FINISHED" and run.params == {"learning_rate": "0.2"}
    assert run.tags["shipyard.training.training_set"] == "training_set:churn_train@1"
    assert [i.ref for i in run.inputs] == ["training_set:churn_train@1"]
    assert b"trained on" in p.tracking.read_artifact(run.id, "logs/train.log")
    assert [j.id for j in p.training.list().items] == [job.id]


def test_a_new_training_set_version_does_not_change_a_queued_job(platform: Platform) -> None:
    p = platform
    build_training_set(p)
    job = p.training.submit(f"{F}:train_lgbm", training_set="churn_train", backend="inprocess")
    build_training_set(p, seed=1)  # version 2 lands before the worker runs the job
    drain(p)
    run = p.tracking.get_run(p.training.get(job.id).run_id)
    assert [i.ref for i in run.inputs] == ["training_set:churn_train@1"]


def test_the_code_version_is_the_commit_and_a_hash_of_the_diff() -> None:
    tags = code_tags(Path(__file__).parent)
    assert len(tags["shipyard.training.git_commit"]) == 40
    assert len(tags["shipyard.training.git_diff_sha256"]) == 64


def test_a_raising_function_fails_its_run_with_the_error_and_logs(platform: Platform) -> None:
    p = platform
    job = p.training.submit(f"{F}:explode", backend="inprocess")
    drain(p)
    done = p.training.get(job.id)
    assert done.state in ("failed", "dead") and "boom in training" in (done.error or "")
    run = p.tracking.get_run(job.run_id)
    assert run.status == "FAILED"
    assert "RuntimeError: boom in training" in run.tags["shipyard.training.error"]
    log = p.tracking.read_artifact(run.id, "logs/train.log").decode()
    assert "about to fail" in log and "Traceback" in log


def test_memory_and_time_limits_end_the_run_failed(platform: Platform) -> None:
    p = platform
    hog = p.training.submit(f"{F}:hog_memory", resources={"memory_mb": 700})
    slow = p.training.submit(f"{F}:sleepy", params={"seconds": 30}, timeout=1.0)
    drain(p)
    for job in (hog, slow):
        done = p.training.get(job.id)
        assert done.state in ("failed", "dead"), done
        run = p.tracking.get_run(done.run_id)
        assert run.status == "FAILED" and run.tags["shipyard.training.error"]
    assert "timed out" in (p.training.get(slow.id).error or "")


def test_gpu_requests_are_refused_where_there_is_no_gpu(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.training import resources

    monkeypatch.setattr(resources, "local_gpus", lambda: 0)
    with pytest.raises(InvalidArgument, match="has no GPU"):
        platform.training.submit(f"{F}:sleepy", resources={"gpus": 1})
    with pytest.raises(InvalidArgument, match="CPUs"):
        platform.training.submit(f"{F}:sleepy", resources={"cpus": 512})
    with pytest.raises(InvalidArgument, match="resources"):
        platform.training.submit(f"{F}:sleepy", resources={"cpus": -1})
    assert platform.training.list().items == []  # nothing queued, no run left behind
    assert platform.tracking.search_runs().items == []


def test_only_allowed_functions_and_existing_sets(platform: Platform) -> None:
    with pytest.raises(PermissionDenied, match="not allowed"):
        platform.training.submit("os:system")
    with pytest.raises(NotFound):
        platform.training.submit(f"{F}:train_lgbm", training_set="nope")
    with pytest.raises(NotFound):
        platform.training.get("nope")


def test_a_job_waits_for_the_cpus_older_jobs_hold() -> None:
    cap = Resources(cpus=2, memory_mb=1000)
    held = [[Resources(cpus=2)], [Resources(cpus=2)], []]
    waited = wait_for(Resources(cpus=1), cap, lambda: held.pop(0), timeout=5, poll=0.01)
    assert waited > 0 and held == []
    with pytest.raises(TimeoutError):
        wait_for(Resources(cpus=1), cap, lambda: [Resources(cpus=2)], timeout=0.05, poll=0.01)
    # a job alone always runs (it was checked to fit the machine when submitted)
    assert wait_for(Resources(cpus=2), cap, lambda: [], timeout=0) < 0.01


def test_a_killed_training_process_leaves_no_running_run(platform: Platform) -> None:
    """``kill -9`` of the process that trains: the job fails and its run is closed FAILED."""
    import os
    import signal
    import threading
    import time

    p = platform
    job = p.training.submit(f"{F}:sleepy", params={"seconds": 60}, max_attempts=1)
    worker = Worker(p, pools=["training"], poll_interval=0.005)
    thread = threading.Thread(target=worker.run, kwargs={"idle_exit": 1.0})
    thread.start()
    deadline = time.monotonic() + 60
    tags: dict[str, str] = {}
    while "shipyard.training.process" not in tags and time.monotonic() < deadline:
        time.sleep(0.1)
        tags = p.tracking.get_run(job.run_id).tags
    pid = int(tags["shipyard.training.process"].rsplit(":", 1)[1])
    assert pid != os.getpid()  # the subprocess executor's child
    os.kill(pid, signal.SIGKILL)
    thread.join(timeout=60)
    done = p.training.get(job.id)
    assert done.state in ("failed", "dead")
    run = p.tracking.get_run(job.run_id)
    assert run.status == "FAILED" and run.end_time is not None


def test_a_job_takes_its_rows_from_a_feature_service(platform: Platform) -> None:
    """Feature service + entity rows: a point-in-time retrieval saved as a training set
    version, which the run records as its input (lineage from the feature view)."""
    p = platform
    build_training_set(p)
    rows = p.training.data_ref("churn_train").arrow(  # type: ignore[union-attr]
        ["customer_id", "event_timestamp", "churned"]
    )
    p.lake.write("gold.churn_labels", rows)
    out = p.training.run(f"{F}:train_lgbm", feature_service="churn", entity_df="gold.churn_labels")
    run = p.tracking.get_run(out["run_id"])
    assert out["metrics"]["auc"] > 0.7
    assert [i.ref for i in run.inputs] == ["training_set:churn_input@1"]
    assert run.tags["shipyard.training.feature_service"] == "churn"
    ts = p.features.get_training_set("churn_input")
    assert ts.num_rows == rows.num_rows and "gold.customer_features" in ts.sources
    job = p.training.submit(
        f"{F}:train_lgbm",
        feature_service="churn",
        entity_df="select * from gold.churn_labels limit 300",
        training_set="churn_sql",
        backend="inprocess",
    )
    assert job.training_set == "training_set:churn_sql@1"
    with pytest.raises(InvalidArgument, match="feature_service"):
        p.training.run(f"{F}:train_lgbm", entity_df="gold.churn_labels")
    with pytest.raises(InvalidArgument, match="entity_df"):
        p.training.submit(f"{F}:train_lgbm", feature_service="churn")
    with pytest.raises(NotFound):
        p.training.run(f"{F}:train_lgbm", feature_service="nope", entity_df="gold.churn_labels")


def test_training_jobs_count_against_the_teams_concurrent_jobs_quota(tmp_path: Path) -> None:
    """A job's and a queued search's workers are jobs: refused past the team's cap,
    before any run or study is made."""
    from shipyard.errors import QuotaExceeded

    d = tmp_path / "p"
    d.mkdir()
    (d / "shipyard.yaml").write_text("jobs:\n  modules: [tests.unit.training.funcs]\n")
    with Platform.open(d, quotas={"cache_seconds": 0}) as p:
        p.quotas.set_quota("team", p.context.default_team, "concurrent_jobs", 2)
        p.training.submit(f"{F}:quadratic", params={"x": 0.0}, backend="inprocess")
        with pytest.raises(QuotaExceeded):
            p.training.tune(
                f"{F}:quadratic", {"x": {"type": "float", "low": -1, "high": 1}},
                metric="loss", workers=2, backend="jobs", study_name="capped",
            )  # fmt: skip
        p.training.submit(f"{F}:quadratic", params={"x": 1.0}, backend="inprocess")
        with pytest.raises(QuotaExceeded):
            p.training.submit(f"{F}:quadratic", params={"x": 2.0}, backend="inprocess")
        assert len(p.training.list().items) == 2
        assert len(p.tracking.search_runs().items) == 2  # no run for what was refused
