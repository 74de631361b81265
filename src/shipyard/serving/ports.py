"""The ports the serving core needs: online features, neighbour features, model versions.

The serving core never imports the feature store or the registry directly: it
takes a ``FeatureLookup`` and a ``ModelSource``. ``adapters.py`` adapts the real
services to them; tests may pass their own callables. These are not storage
backends (serving has none of its own): they are what serving asks of its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shipyard.serving.models import NeighborFeatures


@dataclass(slots=True)
class FeatureRows:
    """Online features for a batch of entity rows, in input order.

    ``columns`` maps each feature name to one value per row; ``statuses`` has, per
    row, ``{feature: status}`` in the feature store's words: ``PRESENT``,
    ``NOT_FOUND`` (never materialized) or ``OUTSIDE_MAX_AGE`` (older than the TTL).
    """

    columns: dict[str, list[Any]]
    statuses: list[dict[str, str]] = field(default_factory=list)


class FeatureLookup(Protocol):
    def __call__(self, feature_service: str, entity_rows: list[dict[str, Any]]) -> FeatureRows:
        """Online features of ``feature_service`` for ``entity_rows``.

        Raises:
            NotFound: the feature service does not exist.
        """
        ...


class NeighborLookup(Protocol):
    def __call__(self, step: NeighborFeatures, ids: list[Any]) -> FeatureRows:
        """The features of one neighbour step for the entities ``ids``, in input order.

        Raises:
            NotFound: the index does not exist (any more).
        """
        ...


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model version reference resolved to its number (``churn@champion`` -> ``churn/3``)."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}/{self.version}"


class LoadedModel(Protocol):
    def predict(self, frame: Any) -> Any:
        """Scores for each row of a pandas DataFrame (numpy array or list)."""
        ...


class ModelSource(Protocol):
    """Where model versions come from (the registry)."""

    def resolve(self, name: str, *, alias: str | None, version: int | None) -> ResolvedModel:
        """The version an alias points at now (or check that a version exists).

        Raises:
            NotFound: no such model, alias or version.
        """
        ...

    def load(self, model: ResolvedModel) -> LoadedModel:
        """Load one model version for prediction (called once per version per process)."""
        ...
