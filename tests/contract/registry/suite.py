"""The registry contract: one suite, run unchanged on every metadata database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from shipyard.registry.models import PromotionStatus
from tests.contract.remote import Skin, Skins

Data = tuple[pd.DataFrame, pd.Series]


class RegistryContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def data(self) -> Data:
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"orders_7d": rng.random(60), "amount": rng.integers(0, 9, 60)})
        return X, (X.orders_7d > 0.5).astype(int)

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        yield skin(p)
        p.close()

    def _train(self, plat: Platform, data: Data, auc: float = 0.83) -> str:
        X, y = data
        plat.catalog.register_asset("training_set:churn_train@1")
        with plat.tracking.start_run(experiment="churn", run_name="lr") as run:
            run.log_metrics({"auc": auc})
            run.log_input("training_set:churn_train@1")
            run.log_model(
                LogisticRegression().fit(X, y),
                "model",
                input_example=X.head(5),
                predict_method="predict_proba",
            )
        return run.id

    def test_register_records_asset_and_lineage(self, plat: Platform, data: Data) -> None:
        run_id = self._train(plat, data)
        mv = plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        assert (mv.name, mv.version, mv.run_id, mv.flavor) == ("churn", 1, run_id, "sklearn")
        assert [c["name"] for c in mv.signature["inputs"]] == ["orders_7d", "amount"]
        assert plat.catalog.get_asset("model:churn").version == 1
        graph = plat.catalog.lineage("model:churn", depth=5)
        refs = {str(n) for n in graph.nodes}
        assert {"model:churn@1", f"run:{run_id}@1", "training_set:churn_train@1"} <= refs
        mv2 = plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        assert mv2.version == 2 and plat.catalog.get_asset("model:churn").version == 2

    def test_lineage_reaches_the_lake_tables(self, plat: Platform, data: Data) -> None:
        plat.catalog.register_asset("table:gold.customer_daily@3")
        plat.catalog.register_asset(
            "feature_view:customer_daily", sources=["table:gold.customer_daily@3"]
        )
        plat.catalog.register_asset(
            "training_set:churn_train",
            sources=["feature_view:customer_daily", "table:gold.customer_daily@3"],
        )
        run_id = self._train(plat, data)
        plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        graph = plat.catalog.lineage("model:churn", depth=10)
        refs = {str(n) for n in graph.nodes}
        assert {
            "model:churn@1",
            f"run:{run_id}@1",
            "training_set:churn_train@1",
            "feature_view:customer_daily@1",
            "table:gold.customer_daily@3",
        } <= refs

    def test_protected_alias_needs_another_approver(self, plat: Platform, data: Data) -> None:
        run_id = self._train(plat, data)
        mv = plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        req = plat.registry.set_alias("churn", "champion", mv.version)
        assert req.status == PromotionStatus.PENDING
        with pytest.raises(NotFound):
            plat.registry.get_model_version_by_alias("churn", "champion")
        with pytest.raises(PermissionDenied, match="self-approval"):
            plat.registry.approve_promotion(req.id)
        viewer = plat.security.create_principal("vic", role="viewer")
        with pytest.raises(PermissionDenied):
            plat.as_principal(viewer).registry.approve_promotion(req.id)
        approver = plat.security.create_principal("alice", role="approver")
        done = plat.as_principal(approver).registry.approve_promotion(req.id, comment="ok")
        assert done.status == PromotionStatus.APPROVED and done.decided_by == "alice"
        assert plat.registry.get_model_version_by_alias("churn", "champion").version == 1
        with pytest.raises(Conflict):
            plat.as_principal(approver).registry.approve_promotion(req.id)
        history = plat.registry.alias_history("churn", "champion")
        assert [(h.version, h.principal, h.approved_by) for h in history] == [
            (1, "local-admin", "alice")
        ]

    def test_unprotected_alias_moves_and_history_is_kept(self, plat: Platform, data: Data) -> None:
        run_id = self._train(plat, data)
        for _ in range(2):
            plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        assert plat.registry.set_alias("churn", "challenger", 1).status == "applied"
        plat.registry.set_alias("churn", "challenger", 2)
        plat.registry.delete_alias("churn", "challenger")
        events = plat.registry.alias_history("churn", "challenger")
        assert [(e.action, e.version, e.previous_version) for e in events] == [
            ("set", 1, None),
            ("set", 2, 1),
            ("delete", None, 2),
        ]
        with pytest.raises(NotFound):
            plat.registry.set_alias("churn", "challenger", 9)
        with pytest.raises(InvalidArgument):
            plat.registry.set_alias("churn", "v3", 1)

    def test_policy_requires_metric(self, plat: Platform, data: Data) -> None:
        low = self._train(plat, data, auc=0.6)
        high = self._train(plat, data, auc=0.9)
        plat.registry.register_model("churn", source=f"runs:/{low}/model")
        plat.registry.register_model("churn", source=f"runs:/{high}/model")
        policy = plat.registry.set_alias_policy(
            "champion", name="churn", metric="auc", min_value=0.8, require_signature=True
        )
        assert plat.registry.get_alias_policy("churn", "champion") == policy
        with pytest.raises(Conflict, match=r"auc >= 0\.8"):
            plat.registry.set_alias("churn", "champion", 1)
        assert plat.registry.set_alias("churn", "champion", 2).pending

    def test_load_model_by_alias_and_version(self, plat: Platform, data: Data) -> None:
        X, _ = data
        run_id = self._train(plat, data)
        plat.registry.register_model("churn", source=f"runs:/{run_id}/model")
        plat.registry.set_alias("churn", "challenger", 1)
        m = plat.registry.load_model("models:/churn@challenger")
        probs = m.predict(X.head(4))
        assert probs.shape == (4,) and ((probs >= 0) & (probs <= 1)).all()
        same = plat.registry.load_model("models:/churn/1").predict(X.head(4))
        assert np.allclose(probs, same)
        with pytest.raises(InvalidArgument, match="'amount' is missing"):
            m.predict(X[["orders_7d"]])
        with pytest.raises(InvalidArgument, match="'amount' has type string"):
            m.predict(X.head(2).assign(amount=["a", "b"]))
        with pytest.raises(NotFound):
            plat.registry.load_model("models:/churn/7")
        with pytest.raises(InvalidArgument):
            plat.registry.load_model("churn")
