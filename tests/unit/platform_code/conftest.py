"""A project with a lake table and a registered model, and a helper that writes its files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.platform import Platform

PLATFORM_YAML = """\
teams: [ml, risk]
principals:
  - name: alice
    roles: {ml: editor}
  - name: bob
    kind: service
    roles: {risk: viewer}
quotas:
  - {scope: team, subject: ml, resource: deployments, limit: 5}
tables:
  - name: silver.orders
    sql: SELECT * FROM bronze.orders WHERE amount > 0
    owner: ml
"""
DEPLOYMENTS_YAML = """\
deployments:
  - name: churn
    owner: ml
    variants:
      - {name: a, model: churn/1, weight: 90}
      - {name: b, model: churn/2, weight: 10}
    request_fields: {a: float64, b: float64}
monitors:
  - deployment: churn
    schedule: "0 * * * *"
"""
FULL_YAML = PLATFORM_YAML + DEPLOYMENTS_YAML

FEATURES_PY = """\
from shipyard.features import Entity, Feature, FeatureView

customer = Entity(name="customer", join_keys=["customer_id"])
orders = FeatureView(
    name="orders", entities=["customer"], source="bronze.orders",
    timestamp_field="ts", features=[Feature("amount", "float64")], owner="ml",
)
"""

PIPELINES_PY = """\
import shipyard


@shipyard.pipeline(schedule="0 3 * * *", owner="ml")
def nightly(p):
    p.action("lake.refresh", table="silver.orders")
"""

Write = Callable[..., list[Path]]


def _register(p: Platform) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 2)), columns=["a", "b"])
    for i in range(2):
        with p.tracking.start_run(experiment="churn-exp") as run:
            run.log_model(LogisticRegression(C=1.0 + i).fit(X, X.a > X.b), "model")
        p.registry.register_model("churn", source=f"runs:/{run.id}/model", owner="ml")


@pytest.fixture
def plat(platform: Platform) -> Platform:
    """bronze.orders, of team ml."""
    now = pd.Timestamp("2026-01-01", tz="UTC")
    platform.lake.write(
        "bronze.orders",
        pa.table({"customer_id": [1, 2], "amount": [3.0, -1.0], "ts": [now, now]}),
        owner="ml",
    )
    return platform


@pytest.fixture
def models(plat: Platform) -> Platform:
    """``plat`` with model churn versions 1 and 2 (deployments start model workers: slow)."""
    _register(plat)
    return plat


@pytest.fixture
def write(project_dir: Path) -> Write:
    """Write the project's files (YAML and Python); returns their paths."""

    def _write(
        yaml: str = PLATFORM_YAML, features: str = FEATURES_PY, pipelines: str = PIPELINES_PY
    ) -> list[Path]:
        out = []
        for name, text in (
            ("platform.yaml", yaml),
            ("features.py", features),
            ("pipelines.py", pipelines),
        ):
            path = project_dir / name
            if text:
                path.write_text(text)
                out.append(path)
            elif path.exists():
                path.unlink()
        return out

    return _write
