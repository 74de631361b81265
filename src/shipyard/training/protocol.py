"""The interface of training: what ``Platform`` and ``shipyard.connect`` both offer (ADR 0008)."""

from __future__ import annotations

from typing import Any, Protocol

from shipyard._internal.paging import Page
from shipyard.training.models import Resources, Study, TrainingJob


class TrainingAPI(Protocol):
    """What ``TrainingService`` offers both in-process and over HTTP."""

    def submit(
        self,
        function: str,
        *,
        training_set: str | None = None,
        params: dict[str, Any] | None = None,
        resources: Resources | dict[str, Any] | None = None,
        experiment: str = "training",
        run_name: str | None = None,
        register_as: str | None = None,
        team: str | None = None,
        timeout: float | None = None,
        max_attempts: int = 1,
        backend: str = "subprocess",
        ray_address: str | None = None,
        feature_service: str | None = None,
        entity_df: str | None = None,
    ) -> TrainingJob:
        """Queue ``function(ctx)`` as a tracked training job (pool ``training``)."""
        ...

    def get(self, job_id: str) -> TrainingJob:
        """The training job ``job_id``."""
        ...

    def list(
        self,
        *,
        state: str | None = None,
        team: str | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[TrainingJob]:
        """Training jobs newest first, among the teams the caller may read (or ``team``)."""
        ...

    def logs(self, job_id: str) -> str:
        """The captured output of the job's last attempt."""
        ...

    def cancel(self, job_id: str) -> TrainingJob:
        """Cancel a queued or running training job; its run ends KILLED."""
        ...

    def tune(
        self,
        function: str,
        space: dict[str, Any] | str,
        *,
        n_trials: int = 20,
        metric: str = "auc",
        direction: str = "maximize",
        training_set: str | None = None,
        params: dict[str, Any] | None = None,
        experiment: str = "tuning",
        study_name: str | None = None,
        pruner: str = "median",
        workers: int = 1,
        backend: str = "local",
        register_as: str | None = None,
        timeout: float | None = None,
        ray_address: str | None = None,
        feature_service: str | None = None,
        entity_df: str | None = None,
    ) -> Study:
        """Search ``space`` for the params that optimize ``metric`` of ``function``."""
        ...

    def get_study(self, name: str) -> Study:
        """The study ``name``: its trials by state and its best trial."""
        ...
