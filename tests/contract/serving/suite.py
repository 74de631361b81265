"""The serving contract: one suite, run unchanged on every metadata database and online store.

Subclasses provide ``overrides`` (settings for ``Platform.open``); the suite builds a
real served model (lake table -> online features -> registered model) and drives
deployments, predictions, the inference log and batch scoring through the service.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from shipyard.serving import Variant
from shipyard.serving.adapters import FeatureStoreLookup, RegistryModelSource
from shipyard.serving.ports import ResolvedModel
from tests.contract.remote import Skin, Skins

FEATURES = [f"f{i}" for i in range(8)]
N = 300


def build_served_model(p: Platform, n: int = N, seed: int = 0) -> pd.DataFrame:
    """Gold table -> feature view + service 'churn' -> materialized -> 'churn' v1, v2 @live=1."""
    from shipyard.features import Entity, Feature, FeatureService, FeatureView

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f: rng.normal(size=n) for f in FEATURES})
    frame.insert(0, "customer_id", np.arange(n, dtype=np.int64))
    ts = pa.array([datetime.now(UTC) - timedelta(days=1)] * n, pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "customer_id": frame.customer_id.to_numpy(),
            "event_ts": ts,
            **{f: frame[f].to_numpy() for f in FEATURES},
        }
    )
    p.lake.write("gold.customer_features", table)
    view = FeatureView(
        name="customer_features",
        entities=["customer"],
        source="gold.customer_features",
        timestamp_field="event_ts",
        ttl=timedelta(days=30),
        features=[Feature(f, "float64") for f in FEATURES],
        online=True,
    )
    p.features.apply(
        [
            Entity(name="customer", join_keys=["customer_id"]),
            view,
            FeatureService(name="churn", features=[view]),
        ]
    )
    p.features.materialize()
    y = (frame.f0 + frame.f1 - frame.f2 > 0).astype(int)
    for c in (1.0, 0.01):
        model = LogisticRegression(C=c).fit(frame[FEATURES], y)
        with p.tracking.start_run(experiment="churn", run_name=f"lr-{c}") as run:
            run.log_model(
                model,
                "model",
                input_example=frame[FEATURES].head(5),
                predict_method="predict_proba",
            )
        p.registry.register_model("churn", source=f"runs:/{run.id}/model")
    p.registry.set_alias("churn", "live", 1)
    return frame


class ServingContract(Skins):
    @pytest.fixture
    def overrides(self, tmp_path: Path) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def real(
        self, tmp_path: Path, overrides: dict[str, Any], skin: Skin
    ) -> Iterator[tuple[Platform, Any]]:
        project = tmp_path / "project"
        project.mkdir()
        p = Platform.open(project, **overrides)
        frame = build_served_model(p)
        yield skin(p), frame
        p.close()

    def _deploy(self, p: Platform, variants: list[Variant] | None = None) -> None:
        p.serving.create_deployment(
            "churn",
            variants=variants or [Variant(name="a", model="churn@live")],
            feature_service="churn",
            entity_keys=["customer_id"],
        )

    @pytest.mark.in_process_only  # the serving backend adapters, not the service
    def test_model_source_resolves_and_loads(self, real: tuple[Platform, Any]) -> None:
        p, frame = real
        source = RegistryModelSource(p.registry, p.serving.runtimes.workers)
        assert source.resolve("churn", alias="live", version=None) == ResolvedModel("churn", 1)
        assert source.resolve("churn", alias=None, version=2) == ResolvedModel("churn", 2)
        for alias, version in (("nope", None), (None, 9)):
            with pytest.raises(NotFound):
                source.resolve("churn", alias=alias, version=version)
        scores = source.load(ResolvedModel("churn", 1)).predict(frame[FEATURES].head(3))
        assert np.asarray(scores).shape == (3,)

    def test_feature_lookup_keeps_order_and_reports_status(
        self, real: tuple[Platform, Any]
    ) -> None:
        p, frame = real
        lookup = FeatureStoreLookup(p.features)
        rows = lookup("churn", [{"customer_id": 5}, {"customer_id": 10_000}, {"customer_id": 2}])
        assert rows.columns["f0"][0] == pytest.approx(frame.f0[5])
        assert rows.columns["f0"][2] == pytest.approx(frame.f0[2])
        assert rows.statuses[0]["f0"] == "PRESENT" and rows.statuses[1]["f0"] == "NOT_FOUND"
        with pytest.raises(NotFound):
            lookup("nope", [{"customer_id": 1}])

    def test_predictions_equal_the_registry_model(self, real: tuple[Platform, Any]) -> None:
        p, frame = real
        self._deploy(p)
        ids = [3, 1, 4, 1, 5]
        resp = p.serving.predict("churn", [{"customer_id": c} for c in ids])
        local = p.registry.load_model("models:/churn/1").predict(frame.loc[ids, FEATURES])
        assert resp.predictions == pytest.approx(list(local))
        assert resp.model_version == "churn/1" and len(resp.feature_status) == 5

    def test_versions_rollback_and_lineage(self, real: tuple[Platform, Any]) -> None:
        p, _ = real
        self._deploy(p)
        p.serving.update_deployment("churn", variants=[Variant(name="b", model="churn/2")])
        assert p.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/2"
        back = p.serving.rollback_deployment("churn", to_version=1)
        assert back.version == 3
        assert p.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/1"
        graph = p.catalog.lineage("deployment:churn", direction="upstream", depth=1)
        assert {str(e.source) for e in graph.edges} >= {"model:churn@1", "model:churn@2"}
        with pytest.raises(InvalidArgument):
            p.serving.update_deployment("churn", variants=[Variant(name="x", model="churn/7")])

    def test_apply_creates_then_changes_only_what_it_names(
        self, real: tuple[Platform, Any]
    ) -> None:
        p, _ = real
        with pytest.raises(InvalidArgument, match="give its variants"):
            p.serving.apply_deployment("churn", entity_keys=["customer_id"])
        first = p.serving.apply_deployment(
            "churn",
            variants=[Variant(name="a", model="churn@live")],
            feature_service="churn",
            entity_keys=["customer_id"],
        )
        assert first.version == 1
        second = p.serving.apply_deployment("churn", variants=[Variant(name="b", model="churn/2")])
        assert second.version == 2
        assert [v.model for v in second.variants] == ["churn/2"]
        # what it did not name is kept, the feature service included
        assert second.spec.feature_service == "churn"
        assert second.spec.entity_keys == ["customer_id"]
        assert p.serving.predict("churn", [{"customer_id": 1}]).model_version == "churn/2"

    def test_split_log_report_and_batch(self, real: tuple[Platform, Any]) -> None:
        p, _ = real
        self._deploy(
            p,
            [
                Variant(name="a", model="churn/1", weight=50),
                Variant(name="b", model="churn/2", weight=50),
            ],
        )
        seen = Counter(p.serving.predict("churn", [{"customer_id": c}]).variant for c in range(200))
        assert 70 <= seen["a"] <= 130
        assert p.serving.flush_prediction_log() == 200
        p.serving.log_ground_truth(
            "churn", [{"entity": {"customer_id": c}, "outcome": c % 2} for c in range(200)]
        )
        report = p.serving.get_report("churn")
        assert sum(v.labeled for v in report.variants) == 200
        r = p.serving.score_table(
            "churn/1", "gold.customer_features", "datasets.scores", chunk_rows=128
        )
        again = p.serving.score_table(
            "churn/1", "gold.customer_features", "datasets.scores", chunk_rows=128
        )
        assert (r.rows, r.chunks_written, again.chunks_written) == (N, 3, 0)
        assert p.lake.read("datasets.scores").num_rows == N
