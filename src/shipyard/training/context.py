"""What a training function receives: ``fn(ctx)`` with params, data, its run and pruning.

The training set is read from the lake by its exact Delta version, in the process
that trains (a worker, a child process or a Ray task): the data never passes
through the submitter's memory.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.errors import InvalidArgument
from shipyard.training.models import Resources

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from shipyard.tracking.active_run import ActiveRun
    from shipyard.tracking.models import LoggedModel


@dataclass
class DataRef:
    """Where a training set's rows are: a Delta table at one version (picklable)."""

    ref: str  # training_set:<name>@<version>
    uri: str
    table_version: int
    storage_options: dict[str, str] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)

    def _table(self) -> Any:
        from deltalake import DeltaTable

        return DeltaTable(
            self.uri, version=self.table_version, storage_options=self.storage_options or None
        )

    def arrow(self, columns: list[str] | None = None) -> pa.Table:
        return self._table().to_pyarrow_table(columns=columns)

    def files(self) -> list[str]:
        return list(self._table().file_uris())


def _prunes(trial: Any) -> bool:
    """Whether the trial's study can prune: without a pruner, Optuna's intermediate
    values are a storage write per step for nothing (the run has them as ``objective``)."""
    study = getattr(trial, "study", None)
    pruner = getattr(study, "pruner", None)
    return pruner is None or type(pruner).__name__ != "NopPruner"


@dataclass
class SearchData(DataRef):
    """The training set of a search's trials: read from the lake once per process and
    search, then shared by the trials (a small set re-read per trial costs more than
    the tracking, ADR 0029). Sets over ``CACHE_BYTES`` are re-read each time."""

    CACHE_BYTES = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, ...] | None, pa.Table] = {}

    def arrow(self, columns: list[str] | None = None) -> pa.Table:
        key = tuple(columns) if columns is not None else None
        with self._lock:
            hit = self._rows.get(key)
            if hit is None:
                hit = super().arrow(columns)
                if hit.nbytes <= self.CACHE_BYTES:
                    self._rows[key] = hit
        return hit


class TrainingContext:
    """Handed to a training function: ``params``, ``data()``, ``log_*``, ``report``."""

    def __init__(
        self,
        run: ActiveRun,
        params: dict[str, Any],
        resources: Resources,
        data: DataRef | None = None,
        trial: Any = None,
        ray_address: str | None = None,
    ) -> None:
        self.run = run
        self.ray_address = ray_address
        self.params = dict(params)
        self.resources = resources
        self.data_ref = data
        self.trial = trial
        self.model: LoggedModel | None = None

    @property
    def run_id(self) -> str:
        return self.run.id

    def _need_data(self) -> DataRef:
        if self.data_ref is None:
            raise InvalidArgument("this training job was given no training set")
        return self.data_ref

    def arrow(self, columns: list[str] | None = None) -> pa.Table:
        """The training set as an Arrow table, read from the lake at its exact version."""
        return self._need_data().arrow(columns)

    def data(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The training set as a pandas DataFrame."""
        return self.arrow(columns).to_pandas()

    def ray_dataset(self) -> Any:
        """The training set as a Ray Dataset over the version's Parquet files (each Ray
        worker reads its blocks from the lake)."""
        import ray.data

        ref = self._need_data()
        return ray.data.read_parquet(ref.files(), filesystem=None)

    def fit_xgboost(
        self,
        params: dict[str, Any],
        *,
        label: str,
        features: list[str] | None = None,
        num_boost_round: int = 100,
        valid_fraction: float = 0.25,
        shuffle_seed: int | None = None,
    ) -> Any:
        """An XGBoost Booster fitted on the training set: data-parallel on Ray Train when
        the job asks for ``resources.workers`` (backend ``ray``), else here. Returns a
        ``Fit`` (``booster``, ``metrics``, ``example``); see ``training/data_parallel.py``."""
        from shipyard.training.data_parallel import fit_xgboost

        return fit_xgboost(
            self,
            params,
            label=label,
            features=features,
            num_boost_round=num_boost_round,
            valid_fraction=valid_fraction,
            shuffle_seed=shuffle_seed,
        )

    @property
    def features(self) -> list[str]:
        return list(self._need_data().features)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.run.log_metric(key, float(value), step=step)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.run.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def log_model(self, model: Any, **kwargs: Any) -> LoggedModel:
        """Log the trained model (under ``model``); it is registered if the job asks."""
        self.model = self.run.log_model(model, "model", **kwargs)
        return self.model

    def report(self, value: float, step: int) -> None:
        """An intermediate value: in a search, a trial the pruner stops raises here."""
        self.run.log_metric("objective", float(value), step=step)
        if self.trial is None or not _prunes(self.trial):
            return
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned at step {step}")
