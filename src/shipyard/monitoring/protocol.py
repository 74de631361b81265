"""The interface of monitoring: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process ``MonitoringService`` and the remote client implement it; mypy checks
both (``shipyard.client.conformance``) and ``tests/unit/client/test_signatures.py``
compares every signature and default (ADR 0008).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from shipyard.monitoring.models import DriftReport, PerformanceReport, Profile
from shipyard.monitoring.quality import FeatureFreshness, QualitySnapshot
from shipyard.monitoring.scorecard import Scorecard
from shipyard.monitoring.slo import SLO, Incident, SLOKind, SLOStatus


class MonitoringAPI(Protocol):
    """What ``MonitoringService`` offers both in-process and over HTTP."""

    def profile_table(
        self, table: str, *, version: int | None = None, columns: list[str] | None = None
    ) -> Profile:
        """Profile a lake table (as of ``version``) and store it as ``table:<name>@<v>``."""
        ...

    def profile_model_version(self, name: str, version: int) -> Profile:
        """Profile the training set of model ``name`` version ``version`` (its run's input)."""
        ...

    def get_profile(self, kind: str, name: str, version: int | None = None) -> Profile:
        """The newest profile of ``model:<name>@<version>`` or ``table:<name>@<version>``."""
        ...

    def run_drift(
        self,
        deployment: str,
        *,
        window_seconds: float = 3600.0,
        end: datetime | None = None,
        thresholds: Mapping[str, float] | None = None,
        features: list[str] | None = None,
    ) -> DriftReport:
        """Drift of the deployment's last ``window_seconds`` of logged predictions (stored;
        the first drift of an incident and its resolution are alerts). ``thresholds``
        replace the deployment's for this run; ``features`` limits what is scored."""
        ...

    def list_drift_reports(self, deployment: str, *, limit: int = 20) -> list[DriftReport]:
        """The deployment's newest drift reports, newest first."""
        ...

    def model_performance(
        self,
        deployment: str,
        *,
        window_seconds: float = 7 * 86400.0,
        bucket_seconds: float | None = None,
        end: datetime | None = None,
    ) -> PerformanceReport:
        """Accuracy/AUC/RMSE per variant and per bucket, from the ground truth posted so far."""
        ...

    def check_table_quality(self, table: str) -> QualitySnapshot:
        """Take and store a data-quality snapshot of a lake table at its current version."""
        ...

    def table_quality(self, table: str, *, limit: int = 20) -> list[QualitySnapshot]:
        """The table's stored quality snapshots, newest first."""
        ...

    def feature_freshness(self) -> list[FeatureFreshness]:
        """Per readable feature view: its newest materialized event time and its lag."""
        ...

    def put_slo(
        self,
        deployment: str,
        name: str,
        *,
        kind: SLOKind,
        objective: float,
        threshold_ms: float | None = None,
        period_seconds: float = 28 * 86400.0,
        min_requests: int = 20,
    ) -> SLO:
        """Create or replace the deployment's SLO ``name`` (latency or availability)."""
        ...

    def list_slos(self, deployment: str) -> list[SLO]:
        """The deployment's SLOs by name."""
        ...

    def delete_slo(self, deployment: str, name: str) -> None:
        """Delete the deployment's SLO ``name`` (its incidents stay)."""
        ...

    def evaluate_slos(self, deployment: str, *, end: datetime | None = None) -> list[SLOStatus]:
        """Every SLO's burn at ``end``; opens and resolves the deployment's incidents."""
        ...

    def list_incidents(self, deployment: str, *, limit: int = 20) -> list[Incident]:
        """The deployment's incidents, newest first."""
        ...

    def scorecard(self, *, days: float = 28.0) -> Scorecard:
        """The platform's results over the last ``days`` (needs read on every team)."""
        ...
