"""XGBoost fitting for a training function: in this process, or data-parallel on Ray Train.

``ctx.fit_xgboost(...)`` fits on the job's training set. A job whose resources ask
for ``workers`` (backend ``ray``) fits with Ray Train's ``XGBoostTrainer``: ``workers``
Ray actors of ``cpus`` CPUs each, every one reading its shard of a Ray Dataset over the
Delta version's Parquet files, XGBoost's collective (rabit) joining their histograms.
The training function itself runs in the job's process (the Ray *driver*): params,
the per-round metrics and the model are logged from there, into the job's run; no row
of the training set passes through it (only a 5-row input example, from rank 0).
Without ``workers`` the same call fits with ``xgboost.train`` here (ADR 0036).
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument
from shipyard.training.models import Resources

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.training.context import TrainingContext

EXAMPLE_ROWS = 5


@dataclass
class Fit:
    """A fitted Booster, its last round's eval metrics and an input example."""

    booster: Any
    metrics: dict[str, float]
    example: pd.DataFrame | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    world_size: int = 1


def check_workers(wanted: Resources, capacity: Resources, where: str = "the Ray cluster") -> None:
    """Refuse a data-parallel request the cluster can never place (it would hang).

    Raises:
        InvalidArgument: ``workers`` x ``cpus`` (or GPUs) over what ``where`` has.
    """
    if not wanted.workers:
        return
    total = wanted.workers * wanted.cpus
    if total > capacity.cpus:
        most = int(capacity.cpus // wanted.cpus)
        raise InvalidArgument(
            f"the job asks for {wanted.workers} Ray Train workers of {wanted.cpus:g} CPU(s) "
            f"each ({total:g} CPUs); {where} has {capacity.cpus:g}: ask for at most "
            f"{most} worker(s) or fewer CPUs per worker",
            workers=wanted.workers,
            cpus=wanted.cpus,
        )
    if wanted.gpus and wanted.workers * wanted.gpus > capacity.gpus:
        raise InvalidArgument(
            f"the job asks for {wanted.workers} Ray Train workers of {wanted.gpus} GPU(s) "
            f"each; {where} has {capacity.gpus} GPU(s)",
            workers=wanted.workers,
            gpus=wanted.gpus,
        )


def _flatten(history: dict[str, dict[str, list[float]]]) -> dict[str, list[float]]:
    """``{"valid": {"auc": [...]}}`` -> ``{"valid_auc": [...]}``."""
    return {f"{d}_{m}": [float(v) for v in vs] for d, ms in history.items() for m, vs in ms.items()}


def _split(n: int, valid_fraction: float) -> int:
    """Where the validation rows start: the last ``int(n * f)`` rows, as Ray's
    ``train_test_split`` cuts, so both paths validate on the same rows."""
    return n - int(n * valid_fraction)


def _train(
    params: dict[str, Any], train: pd.DataFrame, valid: pd.DataFrame | None, label: str, rounds: int
) -> tuple[Any, dict[str, list[float]]]:
    import xgboost

    dtrain = xgboost.DMatrix(train.drop(columns=[label]), label=train[label])
    evals = [(dtrain, "train")]
    if valid is not None and len(valid):
        evals.append((xgboost.DMatrix(valid.drop(columns=[label]), label=valid[label]), "valid"))
    result: dict[str, Any] = {}
    booster = xgboost.train(
        params, dtrain, num_boost_round=rounds, evals=evals, evals_result=result, verbose_eval=False
    )
    return booster, _flatten(result)


def _in_process(
    ctx: TrainingContext,
    params: dict[str, Any],
    label: str,
    features: list[str],
    rounds: int,
    valid_fraction: float,
    shuffle_seed: int | None,
) -> Fit:
    frame = ctx.arrow([*features, label]).to_pandas()
    if shuffle_seed is not None:
        frame = frame.sample(frac=1.0, random_state=shuffle_seed).reset_index(drop=True)
    cut = _split(len(frame), valid_fraction)
    start = time.perf_counter()
    booster, history = _train(
        params, frame[:cut], frame[cut:] if cut < len(frame) else None, label, rounds
    )
    seconds = time.perf_counter() - start
    example = frame[features].head(EXAMPLE_ROWS)
    return Fit(booster, {k: v[-1] for k, v in history.items()}, example, history, seconds)


def _worker_loop(config: dict[str, Any]) -> None:
    """One Ray Train worker: fit on its shards; rank 0 checkpoints model, history, example."""
    import ray.train
    import xgboost

    label, features = config["label"], config["features"]
    train = ray.train.get_dataset_shard("train").materialize().to_pandas()[[*features, label]]
    valid = None
    if config["valid"]:
        valid = ray.train.get_dataset_shard("valid").materialize().to_pandas()[[*features, label]]
    booster, history = _train(config["params"], train, valid, label, config["rounds"])
    metrics = {k: v[-1] for k, v in history.items()}
    world = xgboost.collective.get_world_size()
    if ray.train.get_context().get_world_rank() != 0:
        ray.train.report(metrics, checkpoint=None)
        return
    with tempfile.TemporaryDirectory() as d:
        booster.save_model(str(Path(d) / "model.ubj"))
        (Path(d) / "history.json").write_text(json.dumps({"history": history, "world": world}))
        train[features].head(EXAMPLE_ROWS).to_parquet(Path(d) / "example.parquet")
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(d))


def _on_ray(
    ctx: TrainingContext,
    params: dict[str, Any],
    label: str,
    features: list[str],
    rounds: int,
    valid_fraction: float,
    shuffle_seed: int | None,
) -> Fit:
    import pandas as pd
    import ray.train
    import xgboost
    from ray.train.xgboost import XGBoostTrainer

    from shipyard.training.ray_backend import capacity, connect

    ray = connect(ctx.ray_address)
    check_workers(ctx.resources, capacity(ray))
    ds = ctx.ray_dataset().select_columns([*features, label])
    datasets = {"train": ds}
    if valid_fraction > 0:
        datasets["train"], datasets["valid"] = ds.train_test_split(
            test_size=valid_fraction, shuffle=shuffle_seed is not None, seed=shuffle_seed
        )
    per_worker: dict[str, float] = {"CPU": ctx.resources.cpus}
    if ctx.resources.gpus:
        per_worker["GPU"] = float(ctx.resources.gpus)
    storage = tempfile.mkdtemp(prefix="shipyard-ray-train-")
    try:
        start = time.perf_counter()
        result = XGBoostTrainer(
            _worker_loop,
            train_loop_config={
                "params": params,
                "label": label,
                "features": features,
                "rounds": rounds,
                "valid": "valid" in datasets,
            },
            scaling_config=ray.train.ScalingConfig(
                num_workers=ctx.resources.workers or 1, resources_per_worker=per_worker
            ),
            run_config=ray.train.RunConfig(storage_path=storage, name=f"run-{ctx.run_id}"),
            datasets=datasets,
        ).fit()
        seconds = time.perf_counter() - start
        if result.checkpoint is None:  # rank 0 always reports one; a failed fit raised
            raise RuntimeError("Ray Train returned no checkpoint")
        with result.checkpoint.as_directory() as d:
            booster = xgboost.Booster(model_file=str(Path(d) / "model.ubj"))
            saved = json.loads((Path(d) / "history.json").read_text())
            example = pd.read_parquet(Path(d) / "example.parquet")
    finally:
        shutil.rmtree(storage, ignore_errors=True)
    history = saved["history"]
    metrics = {k: v[-1] for k, v in history.items()}
    return Fit(booster, metrics, example, history, seconds, int(saved["world"]))


def fit_xgboost(
    ctx: TrainingContext,
    params: dict[str, Any],
    *,
    label: str,
    features: list[str] | None = None,
    num_boost_round: int = 100,
    valid_fraction: float = 0.25,
    shuffle_seed: int | None = None,
) -> Fit:
    """Fit on the training set (data-parallel when the job asks for ``workers``) and log
    the XGBoost params, each round's eval metrics (``train_<m>``, ``valid_<m>``, step =
    round) and how it ran into the job's run.

    The validation rows are the last ``valid_fraction`` of the set, or, with
    ``shuffle_seed``, a seeded random ``valid_fraction`` (then the two paths pick
    different rows: Ray Data's shuffle is not pandas')."""
    if not 0 <= valid_fraction < 1:
        raise InvalidArgument(f"valid_fraction must be in [0, 1), not {valid_fraction}")
    if num_boost_round < 1:
        raise InvalidArgument(f"num_boost_round must be >= 1, not {num_boost_round}")
    cols = list(features or ctx.features)
    if not cols:
        raise InvalidArgument("fit_xgboost needs features (the training set names none)")
    params = {"nthread": max(1, math.floor(ctx.resources.cpus)), **params}
    how = _on_ray if ctx.resources.workers else _in_process
    fit = how(ctx, params, label, cols, num_boost_round, valid_fraction, shuffle_seed)
    ctx.run.log_params(
        {f"xgboost.{k}": v for k, v in params.items()}
        | {"xgboost.num_boost_round": num_boost_round}
    )
    for step in range(num_boost_round):
        ctx.run.log_metrics(
            {k: v[step] for k, v in fit.history.items() if step < len(v)}, step=step + 1
        )
    ctx.run.set_tags(
        {
            "shipyard.training.fit": "ray_train" if ctx.resources.workers else "in_process",
            "shipyard.training.fit_seconds": f"{fit.seconds:.3f}",
            "shipyard.training.world_size": str(fit.world_size),
        }
    )
    return fit
