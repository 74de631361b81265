"""The one-value logging calls, written once over ``log_batch``.

Shared by the in-process ``TrackingService`` and the remote client, so the two
cannot drift apart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from shipyard.tracking.models import Metric


class BatchLoggingMixin(ABC):
    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Iterable[Metric | Mapping[str, Any]] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Log metrics, params and tags of one run in one call; the number of metrics written."""

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
        self.log_batch(
            run_id, metrics=[{"key": key, "value": value, "step": step, "timestamp": timestamp}]
        )

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Params are write-once (Conflict when logged again with another value)."""
        self.log_batch(run_id, params=params)

    def log_param(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, params={key: value})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        """Set tags (allowed on ended runs too: tags annotate)."""
        self.log_batch(run_id, tags=tags)

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.log_batch(run_id, tags={key: value})
