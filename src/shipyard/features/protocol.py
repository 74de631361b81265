"""The interface of features: what ``Platform`` and ``shipyard.connect`` both offer.

The in-process service and the remote client implement it; mypy checks both
(see the bottom of this module and ``shipyard.client``) and
``tests/unit/client/test_signatures.py`` compares every signature and default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

import pyarrow as pa

from shipyard._internal.job import Job
from shipyard._internal.paging import Page
from shipyard.features.models import (
    MaterializeResult,
    OnlineFeatures,
    PushResult,
    TrainingSet,
)
from shipyard.features.registry import Plan

if TYPE_CHECKING:  # pandas costs ~0.6 s to import: only the calls that return frames load it
    import pandas as pd


class FeatureAPI(Protocol):
    """What ``FeatureService`` offers both in-process and over HTTP."""

    @overload
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: Literal[False] = False,
    ) -> list[MaterializeResult]: ...
    @overload
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: Literal[True],
    ) -> Job: ...
    def materialize(
        self,
        views: Sequence[str] | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        submit: bool = False,
    ) -> list[MaterializeResult] | Job:
        """Write the latest value per entity of online views into the online store
        (``submit=True``: queue it, return the job)."""
        ...

    def get_view_status(self, name: str) -> dict[str, Any]:
        """Freshness and statistics of a view: its last materialization and run count."""
        ...

    def get_online_features(
        self,
        features: list[str] | None = None,
        *,
        feature_service: str | None = None,
        entity_rows: Sequence[dict[str, Any]],
        full_feature_names: bool = False,
    ) -> OnlineFeatures:
        """The newest materialized values for each entity row, with a status per value."""
        ...

    def push(self, push_source: str, rows: Any, *, to: str = "online_and_offline") -> PushResult:
        """Records for the views of ``push_source``: online at once, appended offline."""
        ...

    def get_historical_features(
        self,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
    ) -> pd.DataFrame:
        """Point-in-time correct feature values for each entity row (see ``offline``)."""
        ...

    def get_historical_table(
        self,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
    ) -> pa.Table:
        """``get_historical_features`` as an Arrow table (no pandas conversion)."""
        ...

    def create_training_set(
        self,
        name: str,
        entity_df: Any,
        features: list[str] | None = None,
        feature_service: str | None = None,
        *,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
        timestamp_column: str | None = None,
        owner: str | None = None,
        description: str = "",
    ) -> TrainingSet:
        """Retrieve features like ``get_historical_features`` and save them as ``datasets.<name>``."""
        ...

    def rebuild_training_set(self, name: str, version: int | None = None) -> pa.Table:
        """Compute a saved training set again from the exact inputs it recorded."""
        ...

    def get_training_set(self, name: str, version: int | None = None) -> TrainingSet:
        """A saved training set (the newest version by default). Raises: NotFound."""
        ...

    def plan(self, objects: Iterable[Any], *, prune: bool = False) -> Plan:
        """What ``apply(objects)`` would create, update or (with ``prune``) delete."""
        ...

    def apply(self, objects: Iterable[Any], *, force: bool = False, prune: bool = False) -> Plan:
        """Create or update definitions (and with ``prune``, delete undeclared ones), all or nothing."""
        ...

    def list_definitions(
        self,
        kind: str | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Any]:
        """Every definition (of ``kind``: entity, feature_view, on_demand_feature_view, feature_service), in creation order."""
        ...

    def get_definition(self, kind: str, name: str) -> Any:
        """One definition. Raises: NotFound."""
        ...
