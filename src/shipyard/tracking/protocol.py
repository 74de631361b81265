"""The interface of tracking: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from shipyard._internal.paging import Page
from shipyard.tracking.active_run import ActiveRun
from shipyard.tracking.models import (
    Experiment,
    FileInfo,
    LoggedModel,
    Metric,
    Run,
    RunComparison,
    RunInput,
    RunStatus,
)


class TrackingAPI(Protocol):
    """What ``TrackingService`` offers both in-process and over HTTP."""

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Log metrics, params and tags in one transaction; returns the metrics written."""
        ...

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        *,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Log one metric value synchronously (``ActiveRun.log_metric`` is the async one)."""
        ...

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Params are write-once (Conflict when logged again with another value)."""
        ...

    def log_param(self, run_id: str, key: str, value: Any) -> None: ...
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags (allowed on ended runs too: tags annotate)."""
        ...

    def set_tag(self, run_id: str, key: str, value: Any) -> None: ...
    def get_logged_model(self, model_id: str) -> LoggedModel:
        """Raises NotFound."""
        ...

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> str:
        """Copy a local file (or folder) under the run's artifacts; returns its path there."""
        ...

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> str:
        """Copy the contents of a local folder under ``artifact_path``."""
        ...

    def put_artifact(self, run_id: str, path: str, data: bytes) -> str:
        """Store ``data`` at ``path`` under the run's artifacts (what uploads use)."""
        ...

    def list_artifacts(
        self,
        run_id: str,
        path: str | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[FileInfo]:
        """Files and folders directly under ``path`` of the run's artifacts."""
        ...

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one artifact file. Raises NotFound."""
        ...

    def download_artifacts(
        self, run_id: str, path: str | None = None, dst: str | Path | None = None
    ) -> Path:
        """A local copy of an artifact file or folder (in place for a local store)."""
        ...

    def log_model(
        self,
        run_id: str,
        model: Any,
        artifact_path: str = "model",
        *,
        input_example: Any = None,
        signature: dict[str, Any] | None = None,
        predict_method: str = "predict",
        flavor: str | None = None,
        pip_requirements: list[str] | None = None,
        registered_model_name: str | None = None,
    ) -> LoggedModel:
        """Save ``model`` under the run's artifacts with its MLmodel, signature and requirements."""
        ...

    def record_model(self, run_id: str, artifact_path: str = "model") -> LoggedModel:
        """Record a model whose files (with ``MLmodel``) were already uploaded to the run."""
        ...

    def search_runs(
        self,
        experiments: Iterable[str] | str | None = None,
        *,
        filter: str | None = None,
        order_by: list[str] | None = None,
        view: str = "active",
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching ``filter`` (MLflow's grammar plus ``or``/``not``/parentheses)."""
        ...

    def compare_runs(self, run_ids: list[str]) -> RunComparison:
        """Params and metrics of ``run_ids`` side by side."""
        ...

    def create_experiment(
        self,
        name: str,
        *,
        owner: str | None = None,
        tags: Mapping[str, str] | None = None,
        artifact_location: str | None = None,
    ) -> Experiment:
        """Create an experiment."""
        ...

    def find_experiment(self, name: str) -> Experiment | None:
        """The experiment named ``name``, or None."""
        ...

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id."""
        ...

    def get_experiment_by_name(self, name: str) -> Experiment:
        """Raises NotFound when no experiment has this name."""
        ...

    def list_experiments(
        self,
        *,
        name_like: str | None = None,
        view: str = "active",
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """Experiments the caller may read, by name."""
        ...

    def update_experiment(
        self,
        experiment_id: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        lifecycle_stage: str | None = None,
    ) -> Experiment:
        """Rename, tag, delete (``lifecycle_stage="deleted"``) or restore an experiment."""
        ...

    def create_run(
        self,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
        user: str | None = None,
        experiment_id: str | None = None,
    ) -> Run:
        """Start a run in ``experiment`` (a name, created if missing) or ``experiment_id``."""
        ...

    def start_run(
        self,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_run_id: str | None = None,
        capture_source: bool = True,
    ) -> ActiveRun:
        """Create a run and return it as a context manager that ends it."""
        ...

    def get_run(self, run_id: str) -> Run:
        """Raises NotFound when there is no run with this id."""
        ...

    def update_run(
        self,
        run_id: str,
        *,
        status: str | RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> Run:
        """Change a run's status (ending it when terminal) or its name."""
        ...

    def end_run(self, run_id: str, status: str | RunStatus = RunStatus.FINISHED) -> Run:
        """End a run (flushing its queued metrics first)."""
        ...

    def set_run_lifecycle(self, run_id: str, stage: str) -> Run:
        """Delete (``"deleted"``) or restore (``"active"``) a run."""
        ...

    def delete_tag(self, run_id: str, key: str) -> None:
        """Raises NotFound when the run has no such tag."""
        ...

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value of one metric, by step then time."""
        ...

    def flush(self) -> None:
        """Write every metric queued by ``ActiveRun.log_metric`` (raises a failed write)."""
        ...

    def log_input(
        self, run_id: str, data: Any, *, context: str = "training", digest: str | None = None
    ) -> RunInput:
        """Record a dataset the run read; adds the lineage edge ``<asset>@v -> run:<id>``."""
        ...
