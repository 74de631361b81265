"""The monitoring contract: one suite, run in-process and over ``shipyard.connect``, on every
metadata database (subclasses give ``overrides`` for ``Platform.open``).

The platform serves a model version registered from a run that logged its training
table (so it has a reference profile); predictions go to the inference log, ground
truth arrives later, and every monitoring call goes through the skin.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import InvalidArgument, NotFound
from shipyard.platform import Platform
from shipyard.serving import Variant
from tests.contract.remote import Skin, Skins
from tests.contract.serving.suite import FEATURES, build_served_model

N = 300


class MonitoringContract(Skins):
    @pytest.fixture
    def overrides(self, tmp_path: Path) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, overrides: dict[str, Any], skin: Skin) -> Iterator[Any]:
        project = tmp_path / "project"
        project.mkdir()
        p = Platform.open(project, **overrides)
        frame = build_served_model(p, n=N)
        with p.tracking.start_run(experiment="churn", run_name="profiled") as run:
            run.log_input("table:gold.customer_features")
            model = LogisticRegression().fit(frame[FEATURES], (frame.f0 > 0).astype(int))
            run.log_model(model, "model")
        p.registry.register_model("churn", source=f"runs:/{run.id}/model")  # v3, profiled
        p.serving.create_deployment(
            "churn",
            variants=[Variant(name="a", model="churn/3")],
            feature_service="churn",
            entity_keys=["customer_id"],
        )
        yield skin(p)
        p.close()

    @staticmethod
    def _serve(p: Any) -> list[tuple[str, float]]:
        out = []
        for start in range(0, N, 100):  # a few requests of 100 rows each
            r = p.serving.predict("churn", [{"customer_id": i} for i in range(start, start + 100)])
            out += [(r.request_id, float(x)) for x in r.predictions]
        p.serving.flush_prediction_log()
        return out

    def test_profiles_and_drift_reports(self, plat: Any) -> None:
        prof = plat.monitoring.get_profile("model", "churn", 3)
        assert prof.subject == "model:churn@3" and set(FEATURES) <= set(prof.features)
        table = plat.monitoring.profile_table("gold.customer_features", columns=["f1"])
        assert list(table.features) == ["f1"]
        assert plat.monitoring.profile_model_version("churn", 3).rows == N
        self._serve(plat)
        report = plat.monitoring.run_drift("churn", window_seconds=600)
        assert report.status == "ok" and report.rows == N and report.model_version == 3
        assert [r.id for r in plat.monitoring.list_drift_reports("churn", limit=5)] == [report.id]
        with pytest.raises(NotFound):
            plat.monitoring.run_drift("nope")
        with pytest.raises(InvalidArgument):
            plat.monitoring.run_drift("churn", window_seconds=0)

    def test_model_performance_as_labels_arrive(self, plat: Any) -> None:
        served = self._serve(plat)
        by_request: dict[str, int] = {}
        labels = []
        for rid, pred in served:
            row = by_request.get(rid, 0)
            by_request[rid] = row + 1
            labels.append({"request_id": rid, "row": row, "outcome": float(pred > 0.5)})
        plat.serving.log_ground_truth("churn", labels[: N // 2])
        rep = plat.monitoring.model_performance("churn", window_seconds=3600, bucket_seconds=600)
        a = rep.variants[0]
        assert rep.task == "classification" and (a.predictions, a.labeled) == (N, N // 2)
        assert a.accuracy == pytest.approx(1.0) and a.auc == pytest.approx(1.0)
        with pytest.raises(InvalidArgument):
            plat.monitoring.model_performance("churn", window_seconds=60, bucket_seconds=120)

    def test_table_quality_and_feature_freshness(self, plat: Any) -> None:
        snap = plat.monitoring.check_table_quality("gold.customer_features")
        assert snap.rows == N and snap.null_rates["f0"] == 0 and snap.schema_change is None
        again = plat.monitoring.check_table_quality("gold.customer_features")
        assert again.schema_change is not None and again.schema_change.empty
        assert [s.id for s in plat.monitoring.table_quality("gold.customer_features")] == [
            again.id,
            snap.id,
        ]
        [view] = plat.monitoring.feature_freshness()
        assert view.view == "customer_features" and view.lag_seconds is not None
        assert not view.stale and np.isclose(view.ttl_seconds, 30 * 86400)
        with pytest.raises(NotFound):
            plat.monitoring.check_table_quality("gold.nope")

    def test_scorecard(self, plat: Any) -> None:
        card = plat.monitoring.scorecard(days=7)
        assert card.deployments == 1 and card.success_rate == 1.0
        assert card.models_in_production == 1 and card.lead_times_measured == 1
        with pytest.raises(InvalidArgument):
            plat.monitoring.scorecard(days=0)
