"""Adapters from the platform's feature store and registry to the serving seams."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.serving.backends.base import FeatureRows, LoadedModel, ResolvedModel

if TYPE_CHECKING:
    from shipyard.features.service import FeatureService
    from shipyard.registry.service import RegistryService
    from shipyard.serving.worker import WorkerPool


class FeatureStoreLookup:
    """Online features through ``FeatureService.get_online_features``."""

    def __init__(self, features: FeatureService) -> None:
        self._features = features

    def __call__(self, feature_service: str, entity_rows: list[dict[str, Any]]) -> FeatureRows:
        result = self._features.get_online_features(
            feature_service=feature_service, entity_rows=entity_rows
        )
        given = entity_rows[0].keys() if entity_rows else ()  # keys and request fields
        statuses = {f: st for f, st in result.statuses.items() if f not in given}
        names = list(statuses)
        per_row = [{f: statuses[f][i] for f in names} for i in range(len(entity_rows))]
        return FeatureRows(columns=result.to_dict(), statuses=per_row)


class RegistryModelSource:
    """Model versions through the registry: aliases resolved, models loaded by version."""

    def __init__(self, registry: RegistryService, workers: Callable[[], WorkerPool]) -> None:
        self._registry = registry
        self._workers = workers

    def resolve(self, name: str, *, alias: str | None, version: int | None) -> ResolvedModel:
        if alias is not None:
            mv = self._registry.get_model_version_by_alias(name, alias)
        else:
            mv = self._registry.get_model_version(name, version)  # type: ignore[arg-type]  # a variant names one
        return ResolvedModel(mv.name, int(mv.version))

    def load(self, model: ResolvedModel) -> LoadedModel:
        """A handle on the worker process that loaded the version (see ``worker.py``)."""
        uri = f"models:/{model.name}/{model.version}"
        return self._workers().model(self._registry.download_model(uri), uri)
