"""A served model whose version was registered from a logged training table (so profiled)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.contract.serving.suite import FEATURES, build_served_model

N = 400


def write_features(p: Platform, shift: float = 0.0, seed: int = 1) -> None:
    """New values for every customer in the online store (shifted by ``shift``)."""
    rng = np.random.default_rng(seed)
    ts = pa.array([datetime.now(UTC) - timedelta(hours=1)] * N, pa.timestamp("us", tz="UTC"))
    cols = {f: rng.normal(loc=shift, size=N) for f in FEATURES}
    p.lake.write(
        "gold.customer_features",
        pa.table({"customer_id": np.arange(N, dtype=np.int64), "event_ts": ts, **cols}),
    )
    p.features.materialize()


def build_monitored(p: Platform) -> None:
    """Deployment 'churn' serving 'churn@live', a version registered from a logged table."""
    frame = build_served_model(p, n=N)
    y = (frame.f0 > 0).astype(int)
    with p.tracking.start_run(experiment="churn", run_name="profiled") as run:
        run.log_input("table:gold.customer_features")
        run.log_model(LogisticRegression().fit(frame[FEATURES], y), "model")
    mv = p.registry.register_model("churn", source=f"runs:/{run.id}/model")
    p.registry.set_alias("churn", "live", mv.version)
    p.serving.create_deployment(
        "churn",
        variants=[Variant(name="a", model="churn@live")],
        feature_service="churn",
        entity_keys=["customer_id"],
    )


@pytest.fixture
def monitored(project_dir: Path) -> Iterator[Platform]:
    with Platform.open(project_dir) as p:
        build_monitored(p)
        yield p


def serve(p: Platform, n: int = N) -> None:
    for i in range(n):
        p.serving.predict("churn", [{"customer_id": i % N}])
    p.serving.flush_prediction_log()
