"""Training compute: tracking overhead per job, a 100-trial search against bare Optuna, on Ray.

Data: the demo's churn training set (``shipyard demo`` in a temporary project, or
``DEMO_DIR`` to reuse one). Phases:

1. Overhead per job, embedded: ``p.training.run(train_churn)`` (a tracked run with
   params, input, code version, metrics, logs) against the bare function on the same
   rows, ``N_JOBS`` times each; the median difference is the overhead (target < 200 ms).
2. Search: ``N_TRIALS`` trials of the same small model with 2 workers, by bare Optuna
   (in-memory storage, ``n_jobs=2``) and by ``p.training.tune(workers=2)`` (Optuna's RDB
   storage beside the catalog, a child run per trial); trials/s of each (target: the
   tracked search >= 80% of bare Optuna's throughput, every trial recorded).
3. The same search on a local 2-CPU Ray instance (Ray Tune trials, Optuna's sampler).
4. The docs' example: default params against a 20-trial search (validation AUC).

Usage: ``python bench/training.py`` (knobs: ``N_JOBS``=20, ``N_TRIALS``=100,
``BENCH_PHASES``=overhead,bare,bare_rdb,tracked,ray,example, ``DEMO_DIR``). Writes ``bench/results/training.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = str(ROOT / "src")  # Ray's worker processes import shipyard

from threadpoolctl import threadpool_limits  # noqa: E402

from shipyard.demo.training import train_churn  # noqa: E402
from shipyard.platform import Platform  # noqa: E402
from shipyard.training.space import parse_space, suggest  # noqa: E402

N_JOBS = int(os.environ.get("N_JOBS", "20"))
N_TRIALS = int(os.environ.get("N_TRIALS", "100"))
FN = "shipyard.demo.training:train_churn"
SPACE = """
learning_rate: {type: float, low: 0.01, high: 0.3, log: true}
max_leaf_nodes: {type: int, low: 4, high: 64, log: true}
min_samples_leaf: {type: int, low: 5, high: 200, log: true}
l2_regularization: {type: float, low: 0.000001, high: 10.0, log: true}
"""


class BareCtx:
    """What the bare function gets: params and the rows, nothing recorded."""

    def __init__(self, frame: Any, params: dict[str, Any]) -> None:
        self.frame, self.params = frame, params

    def data(self) -> Any:
        return self.frame

    def report(self, value: float, step: int) -> None:
        pass

    def log_model(self, *_: Any, **__: Any) -> None:
        pass


def project() -> Path:
    given = os.environ.get("DEMO_DIR")
    d = Path(given) if given else Path(tempfile.mkdtemp(prefix="bench-training-")) / "demo"
    if not (d / ".shipyard").exists():
        from rich.console import Console

        from shipyard.demo.golden_path import run_demo

        run_demo(d, requests=20, console=Console(quiet=True))
    (d / "shipyard.yaml").write_text("jobs:\n  modules: [shipyard.demo.training]\n")
    return d


def overhead(p: Platform, frame: Any) -> dict[str, float]:
    params = {"log_model": False}
    bare, tracked = [], []
    for _ in range(N_JOBS):
        t = time.perf_counter()
        with threadpool_limits(limits=1):
            rows = p.training.data_ref("churn_train").arrow().to_pandas()  # type: ignore[union-attr]
            train_churn(BareCtx(rows, params))
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        p.training.run(FN, training_set="churn_train", params=params, experiment="bench")
        tracked.append(time.perf_counter() - t)
    b, k = statistics.median(bare), statistics.median(tracked)
    return {"bare_ms": b * 1000, "tracked_ms": k * 1000, "overhead_ms": (k - b) * 1000}


def bare_optuna(frame: Any, storage: str | None = None) -> dict[str, float]:
    """Bare Optuna: in-memory, or on an RDB ``storage`` URL (the same kind of file the
    tracked search uses), no runs recorded."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_space(SPACE)

    def objective(trial: Any) -> float:
        params = {**suggest(trial, space), "log_model": False}
        return train_churn(BareCtx(frame, params))["auc"]

    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.NopPruner(), storage=storage
    )
    t = time.perf_counter()
    with threadpool_limits(limits=1):  # as a tracked trial asking for 1 CPU
        study.optimize(objective, n_trials=N_TRIALS, n_jobs=2)
    secs = time.perf_counter() - t
    return {"seconds": secs, "trials_per_s": N_TRIALS / secs, "best_auc": study.best_value}


def tracked_search(p: Platform, backend: str) -> dict[str, Any]:
    t = time.perf_counter()
    study = p.training.tune(
        FN,
        SPACE,
        n_trials=N_TRIALS,
        metric="auc",
        training_set="churn_train",
        params={"log_model": False},
        pruner="none",
        workers=2,
        backend=backend,
        study_name=f"bench-{backend}-{int(time.time())}",
    )
    secs = time.perf_counter() - t
    children = p.tracking.search_runs(
        filter=f"tags.mlflow.parentRunId = '{study.parent_run_id}'", limit=1000
    ).items
    return {
        "seconds": secs,
        "trials_per_s": N_TRIALS / secs,
        "complete": study.complete,
        "child_runs": len(children),
        "finished_runs": sum(r.status == "FINISHED" for r in children),
        "best_auc": study.best.value if study.best else None,
    }


def example(p: Platform) -> dict[str, Any]:
    default = p.training.run(FN, training_set="churn_train", experiment="example")
    study = p.training.tune(
        FN,
        SPACE,
        n_trials=20,
        metric="auc",
        training_set="churn_train",
        workers=2,
        study_name=f"example-{int(time.time())}",
    )
    return {
        "default_auc": default["metrics"]["auc"],
        "tuned_auc": study.best.value if study.best else None,
        "complete": study.complete,
        "pruned": study.pruned,
    }


PHASES = os.environ.get("BENCH_PHASES", "overhead,bare,bare_rdb,tracked,ray,example").split(",")


def main() -> None:
    d = project()
    out: dict[str, Any] = {"cpus": os.cpu_count(), "n_trials": N_TRIALS}
    with Platform.open(d) as p:
        frame = p.training.data_ref("churn_train").arrow().to_pandas()  # type: ignore[union-attr]
        out["rows"] = len(frame)
        if "overhead" in PHASES:
            out["overhead"] = overhead(p, frame)
        if "bare" in PHASES:
            out["bare_optuna"] = bare_optuna(frame)
        if "bare_rdb" in PHASES:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-optuna-')}/optuna.db"
            out["bare_optuna_sqlite"] = bare_optuna(frame, url)
        if "tracked" in PHASES:
            out["tracked_search"] = tracked_search(p, "local")
        if "ray" in PHASES:
            import ray

            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            try:
                out["ray_search"] = tracked_search(p, "ray")
            finally:
                ray.shutdown()
        if "example" in PHASES:
            out["example"] = example(p)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "training.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
