"""Hyperparameter search: Optuna studies in the project's database, trials as child runs."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.pipelines.worker import Worker
from shipyard.platform import Platform
from shipyard.training.space import parse_space, read_space
from tests.unit.training.funcs import build_training_set

F = "tests.unit.training.funcs"
SPACE_YAML = """
learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
num_leaves: {type: int, low: 4, high: 31}
"""


def test_a_search_records_every_trial_as_a_child_run_and_registers_the_best(
    platform: Platform,
) -> None:
    p = platform
    build_training_set(p)
    study = p.training.tune(
        f"{F}:train_lgbm",
        SPACE_YAML,
        n_trials=6,
        metric="auc",
        training_set="churn_train",
        workers=2,
        study_name="lgbm-search",
        register_as="churn",
    )
    assert study.trials == 6 and study.complete == 6 and study.model_version == "churn/1"
    children = p.tracking.search_runs(
        filter=f"tags.mlflow.parentRunId = '{study.parent_run_id}'"
    ).items
    assert len(children) == 6 and all(r.status == "FINISHED" for r in children)
    best = max(children, key=lambda r: r.metrics["auc"])
    # Trials may tie on AUC: the best is any child run with the top score.
    tied = {r.id for r in children if r.metrics["auc"] == best.metrics["auc"]}
    assert study.best is not None and study.best.run_id in tied
    assert study.best.value == best.metrics["auc"]
    assert p.registry.get_model_version("churn", 1).run_id == study.best.run_id
    parent = p.tracking.get_run(study.parent_run_id)
    assert parent.status == "FINISHED" and parent.metrics["best_auc"] == best.metrics["auc"]
    assert p.training.get_study("lgbm-search").complete == 6
    with pytest.raises(AlreadyExists):
        p.training.tune(f"{F}:train_lgbm", SPACE_YAML, n_trials=1, study_name="lgbm-search")


def test_pruned_trials_end_their_runs_killed(platform: Platform) -> None:
    study = platform.training.tune(
        f"{F}:quadratic",
        {"x": {"type": "float", "low": -10, "high": 10}},
        n_trials=12,
        metric="loss",
        direction="minimize",
    )
    assert study.complete + study.pruned == 12  # how many are pruned depends on the sampler
    runs = platform.tracking.search_runs(
        filter=f"tags.mlflow.parentRunId = '{study.parent_run_id}'"
    ).items
    assert sum(r.status == "KILLED" for r in runs) == study.pruned


@pytest.mark.parametrize(
    ("space", "match"),
    [
        ({}, "must map"),
        ({"x": {"type": "float", "low": 2, "high": 1}}, "low"),
        ({"x": {"type": "float", "low": 0, "high": 1, "log": True}}, "log scale"),
        ({"x": {"type": "normal", "mu": 0}}, "x"),
        ({"x": {"type": "categorical", "choices": []}}, "choices"),
        ("x: [unclosed", "not YAML"),
    ],
)
def test_bad_spaces_are_refused_before_any_trial(
    platform: Platform, space: object, match: str
) -> None:
    with pytest.raises(InvalidArgument, match=match):
        platform.training.tune(f"{F}:quadratic", space, metric="loss")  # type: ignore[arg-type]
    assert platform.tracking.search_runs().items == []


def test_bad_search_options_are_refused(platform: Platform) -> None:
    space = {"x": {"type": "int", "low": 0, "high": 3}}
    for kw, match in (
        ({"direction": "up"}, "direction"),
        ({"pruner": "magic"}, "pruner"),
        ({"workers": 0}, "workers"),
        ({"backend": "slurm"}, "backend"),
        ({"n_trials": 0}, "n_trials"),
    ):
        with pytest.raises(InvalidArgument, match=match):
            platform.training.tune(f"{F}:quadratic", space, **kw)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        platform.training.get_study("nope")


@pytest.mark.slow
def test_queued_search_workers_share_one_study(platform: Platform) -> None:
    p = platform
    study = p.training.tune(
        f"{F}:quadratic",
        {"x": {"type": "float", "low": -4, "high": 4}},
        n_trials=8,
        metric="loss",
        direction="minimize",
        pruner="none",
        workers=2,
        backend="jobs",
        study_name="shared",
    )
    assert len(study.job_ids) == 2 and study.trials == 0
    Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
    done = p.training.get_study("shared")
    assert done.complete == 8 and done.best is not None
    for job_id in study.job_ids:
        assert p.jobs.get(job_id).state == "succeeded"
    assert p.tracking.get_run(done.parent_run_id).status == "FINISHED"


def test_yaml_file_space(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "space.yaml"
    path.write_text(SPACE_YAML)
    assert set(parse_space(read_space(path))) == {"learning_rate", "num_leaves"}


class _Pruning:
    """An Optuna trial whose pruner stops it at the first report."""

    def report(self, value: float, step: int) -> None:
        self.reported = (value, step)

    def should_prune(self) -> bool:
        return True


def test_a_pruned_trial_ends_its_run_killed(platform: Platform) -> None:
    import optuna

    with pytest.raises(optuna.TrialPruned):
        platform.training.run(f"{F}:quadratic", params={"x": 0.0}, trial=_Pruning())
    (run,) = platform.tracking.search_runs().items
    assert run.status == "KILLED" and run.tags["shipyard.training.pruned"] == "true"


@pytest.mark.slow
def test_a_search_survives_a_worker_killed_mid_trial(platform: Platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``kill -9`` of a queued search worker while it holds a trial: its job runs again
    (jobs are at-least-once), the new attempt fails the lost trial (queueing its params
    once more) and completes the study; the lost trial's run is closed FAILED."""
    p, pid_file = platform, tmp_path / "worker.pid"
    study = p.training.tune(
        f"{F}:hang_once",
        {"x": {"type": "float", "low": -4, "high": 4}},
        n_trials=4,
        metric="loss",
        direction="minimize",
        pruner="none",
        params={"pid_file": str(pid_file)},
        workers=1,
        backend="jobs",
        study_name="killed",
    )

    def killer() -> None:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.3)
    # the killed attempt's retry is due after its backoff (0.1-0.2 s): a second worker
    Worker(p, pools=["training"], poll_interval=0.005).run(idle_exit=0.5)
    t.join(5)
    job = p.jobs.get(study.job_ids[0])
    assert job.state == "succeeded" and job.attempts == 2
    done = p.training.get_study("killed")
    assert done.failed == 1 and done.complete == 3 and done.best is not None
    children = p.tracking.search_runs(
        filter=f"tags.mlflow.parentRunId = '{done.parent_run_id}'", limit=100
    ).items
    assert not [r for r in children if not r.status.terminal]  # no orphan "running" run
    lost = [r for r in children if r.tags.get("shipyard.training.error") == "worker lost"]
    assert len(lost) == 1 and lost[0].status == "FAILED"
    assert p.tracking.get_run(done.parent_run_id).status == "FINISHED"


def test_a_trial_whose_worker_on_another_host_went_silent_is_failed_after_its_grace(
    platform: Platform,
) -> None:
    """A worker on another host cannot be probed by pid: its trial is failed once its
    heartbeat is older than the grace period, its params queued once more, its run
    closed FAILED (Optuna's heartbeat, read when the study is summarised)."""
    import sqlite3
    import warnings

    import optuna

    from shipyard.training.storage import GRACE, quiet, storage

    p = platform
    study = p.training.tune(
        f"{F}:quadratic", {"x": {"type": "float", "low": -4, "high": 4}}, n_trials=2,
        metric="loss", direction="minimize", pruner="none", backend="jobs",
        study_name="elsewhere",
    )  # fmt: skip
    store = storage(p.settings)
    s = optuna.load_study(study_name="elsewhere", storage=store)
    with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize"
        warnings.simplefilter("ignore", UserWarning)
        trial = s.ask({"x": optuna.distributions.FloatDistribution(-4, 4)})
    run = p.tracking.create_run("tuning", parent_run_id=study.parent_run_id)
    trial.set_user_attr("run_id", run.id)
    trial.set_user_attr("process", "another-host:4242")
    with quiet():
        store.record_heartbeat(trial._trial_id)
    assert p.training.get_study("elsewhere").failed == 0  # heart-beating: left alone
    con = sqlite3.connect(p.settings.home_dir / "catalog.db")
    with con:
        con.execute(
            "UPDATE trial_heartbeats SET heartbeat = datetime('now', ?)", (f"-{GRACE + 5} seconds",)
        )
    con.close()
    assert p.training.get_study("elsewhere").failed == 1
    closed = p.tracking.get_run(run.id)
    assert closed.status == "FAILED" and closed.tags["shipyard.training.error"] == "worker lost"
    (retry,) = s.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert retry.params == trial.params
