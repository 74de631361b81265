"""Serving unit fixtures: real scikit-learn models and an in-memory model/feature source.

The in-memory sources stand in for the registry and the online store through the
serving seams (``ModelSource``, ``FeatureLookup``); the models are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from shipyard.errors import NotFound
from shipyard.platform import Platform
from shipyard.serving.backends.base import FeatureRows, ResolvedModel
from shipyard.serving.context import runtime_for

FEATURES = [f"f{i}" for i in range(8)]


def train(kind: str = "logreg", seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(400, 8)), columns=FEATURES)
    y = (X.f0 + X.f1 - X.f2 > 0).astype(int)
    model = LogisticRegression() if kind == "logreg" else DecisionTreeClassifier(max_depth=4)
    return model.fit(X, y)


class Proba:
    """What the registry hands out for ``predict_method="predict_proba"``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.feature_names_in_ = model.feature_names_in_
        self.calls = 0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        return self.model.predict_proba(frame)[:, 1]


class Exploding:
    feature_names_in_ = np.array(FEATURES)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("boom")


class MemoryModels:
    """name -> version -> model, plus aliases; counts loads."""

    def __init__(self) -> None:
        self.versions: dict[str, dict[int, Any]] = {}
        self.aliases: dict[tuple[str, str], int] = {}
        self.loads: list[ResolvedModel] = []

    def add(self, name: str, model: Any, alias: str | None = None) -> int:
        versions = self.versions.setdefault(name, {})
        version = len(versions) + 1
        versions[version] = model
        if alias:
            self.aliases[(name, alias)] = version
        return version

    def resolve(self, name: str, *, alias: str | None, version: int | None) -> ResolvedModel:
        if alias is not None:
            if (name, alias) not in self.aliases:
                raise NotFound(f"no alias {name}@{alias}")
            return ResolvedModel(name, self.aliases[(name, alias)])
        if version not in self.versions.get(name, {}):
            raise NotFound(f"no model version {name}/{version}")
        assert version is not None
        return ResolvedModel(name, version)

    def load(self, model: ResolvedModel) -> Any:
        self.loads.append(model)
        return self.versions[model.name][model.version]


class MemoryFeatures:
    def __init__(self, n: int = 3000, seed: int = 1) -> None:
        rng = np.random.default_rng(seed)
        self.rows = {
            i: dict(zip(FEATURES, rng.normal(size=8).tolist(), strict=True)) for i in range(n)
        }

    def __call__(self, feature_service: str, entity_rows: list[dict[str, Any]]) -> FeatureRows:
        cols: dict[str, list[Any]] = {f: [] for f in FEATURES}
        statuses = []
        for r in entity_rows:
            found = self.rows.get(r["customer_id"])
            for f in FEATURES:
                cols[f].append(found[f] if found else None)
            statuses.append({f: "PRESENT" if found else "NOT_FOUND" for f in FEATURES})
        return FeatureRows(columns=cols, statuses=statuses)


@pytest.fixture
def models() -> MemoryModels:
    return MemoryModels()


@pytest.fixture
def features() -> MemoryFeatures:
    return MemoryFeatures()


@pytest.fixture
def served(
    platform: Platform, models: MemoryModels, features: MemoryFeatures
) -> Iterator[Platform]:
    """A platform whose serving runtime uses the in-memory sources; model ``churn`` v1, v2."""
    runtime_for(
        platform.serving, models=models, features=features, refresh_interval=0, log_interval=0
    )
    models.add("churn", Proba(train("logreg")), alias="champion")
    models.add("churn", Proba(train("tree")))
    platform.catalog.register_asset("model:churn@1")
    platform.catalog.register_asset("model:churn@2")
    yield platform
