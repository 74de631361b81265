"""The interface of serving: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, overload

from shipyard._internal.job import Job
from shipyard._internal.paging import Page
from shipyard.serving.batch import BatchScoreResult
from shipyard.serving.models import (
    Deployment,
    ExportResult,
    NeighborFeatures,
    PredictResponse,
    Variant,
)
from shipyard.serving.report import DeploymentReport

#: ``update_deployment(feature_service=...)`` left out (``None`` removes the feature service).
UNSET: Any = object()


class ServingAPI(Protocol):
    """What ``ServingService`` offers both in-process and over HTTP."""

    def start_canary(
        self,
        name: str,
        variant: Variant,
        *,
        steps: list[int] | None = None,
        interval_s: float | None = None,
        max_error_rate: float = 0.05,
        max_p99_ms: float | None = None,
        min_requests: int = 20,
    ) -> Deployment:
        """Ramp ``variant`` in: first step now, then on a schedule or by ``advance_canary``."""
        ...

    def advance_canary(self, name: str) -> Deployment:
        """Move the running ramp to its next step."""
        ...

    def rollback_canary(self, name: str, *, reason: str = "by command") -> Deployment:
        """Stop the running ramp: remove the canary, restore the weights before it."""
        ...

    def create_deployment(
        self,
        name: str,
        *,
        variants: list[Variant],
        feature_service: str | None = None,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool = False,
        log_predictions: bool = True,
        neighbors: list[NeighborFeatures] | None = None,
        owner: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Create deployment ``name`` (version 1) serving ``variants``."""
        ...

    def update_deployment(
        self,
        name: str,
        *,
        variants: list[Variant] | None = None,
        feature_service: str | None = UNSET,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool | None = None,
        log_predictions: bool | None = None,
        neighbors: list[NeighborFeatures] | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Record a new version of ``name`` with the given fields changed."""
        ...

    def apply_deployment(
        self,
        name: str,
        *,
        variants: list[Variant] | None = None,
        feature_service: str | None = UNSET,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool | None = None,
        neighbors: list[NeighborFeatures] | None = None,
        owner: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        """Create ``name``, or record a new version with the given fields changed."""
        ...

    def rollback_deployment(self, name: str, *, to_version: int | None = None) -> Deployment:
        """Serve an earlier version's spec again, as a new version (the history is kept)."""
        ...

    def get_deployment(self, name: str) -> Deployment:
        """The current version of ``name``."""
        ...

    def list_deployments(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Deployment]:
        """Deployments the caller may read, by name."""
        ...

    def list_deployment_versions(
        self, name: str, *, limit: int | None = None, page_token: str | None = None
    ) -> Page[Deployment]:
        """Every version of ``name``, oldest first."""
        ...

    def delete_deployment(self, name: str) -> None:
        """Remove the deployment from the catalog (its versions and lineage go with it)."""
        ...

    def predict(
        self, name: str, inputs: list[dict[str, Any]], *, routing_key: str | None = None
    ) -> PredictResponse:
        """Score ``inputs`` (one dict per row: entity keys and request fields)."""
        ...

    def deployment_stats(self, name: str, *, window_seconds: float = 3600.0) -> dict[str, Any]:
        """Per variant: requests, errors, error rate and latency percentiles, read from the
        inference log of every server process over the last ``window_seconds``."""
        ...

    def flush_prediction_log(self) -> int:
        """Write the buffered inference log now (it is also flushed every second)."""
        ...

    def log_ground_truth(self, name: str, outcomes: list[dict[str, Any]]) -> int:
        """Record what really happened, by request id (and row) or by entity."""
        ...

    def get_report(self, name: str) -> DeploymentReport:
        """Per variant: requests, errors, latency percentiles, outcome and Brier score with 95% confidence intervals, and Welch's t-test against the first live variant."""
        ...

    @overload
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250000,
        submit: Literal[False] = False,
    ) -> BatchScoreResult: ...
    @overload
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250000,
        submit: Literal[True],
    ) -> Job: ...
    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250000,
        submit: bool = False,
    ) -> BatchScoreResult | Job:
        """Score a lake table (or a training set's ``datasets.<name>``) with a model version
        (``submit=True``: queue it, return the job)."""
        ...

    @overload
    def export_model(
        self,
        model: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[False] = False,
    ) -> ExportResult: ...
    @overload
    def export_model(
        self, model: str, *, format: str = "onnx", tolerance: float = 1e-4, submit: Literal[True]
    ) -> Job: ...
    def export_model(
        self, model: str, *, format: str = "onnx", tolerance: float = 1e-4, submit: bool = False
    ) -> ExportResult | Job:
        """Convert a model version to ONNX, check parity on its input example, record it
        (``submit=True``: queue it, return the job)."""
        ...

    @overload
    def export_deployment(
        self,
        name: str,
        *,
        format: str = "onnx",
        tolerance: float = 1e-4,
        submit: Literal[False] = False,
    ) -> ExportResult: ...
    @overload
    def export_deployment(
        self, name: str, *, format: str = "onnx", tolerance: float = 1e-4, submit: Literal[True]
    ) -> Job: ...
    def export_deployment(
        self, name: str, *, format: str = "onnx", tolerance: float = 1e-4, submit: bool = False
    ) -> ExportResult | Job:
        """``export_model`` of the model version deployment ``name`` serves most traffic with
        (``submit=True``: queue it, return the job; the job exports what it serves then)."""
        ...
