"""The golden path of tracking and registry through ``shipyard.connect`` (a live server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.platform import Platform
from tests.servers import live_server


@pytest.fixture
def server_url(platform: Platform) -> Iterator[str]:
    with live_server(platform) as url:
        yield url


def test_golden_path_over_http(platform: Platform, server_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"orders_7d": rng.random(40), "amount": rng.random(40)})
    y = (X.orders_7d > 0.5).astype(int)
    platform.catalog.register_asset("training_set:churn_train@1")
    approver = platform.security.create_principal("ann", role="approver")
    ann_token = platform.security.create_token(principal=approver.name).token
    remote = shipyard.connect(server_url, platform.security.create_token().token)
    remote.registry._cache = tmp_path / "cache"
    (tmp_path / "notes.txt").write_text("hi")
    with remote.tracking.start_run(experiment="churn", run_name="lr") as run:
        run.log_params({"C": 1.0})
        for i in range(50):
            run.log_metric("loss", 1.0 / (i + 1), step=i)
        run.log_metrics({"auc": 0.88})
        run.log_input("training_set:churn_train@1")
        run.log_artifact(tmp_path / "notes.txt", "docs")
        logged = run.log_model(
            LogisticRegression().fit(X, y),
            "model",
            input_example=X.head(3),
            predict_method="predict_proba",
            registered_model_name="churn",
        )
        with pytest.raises(Conflict):
            run.log_params({"C": 2.0})
    assert logged.flavor == "sklearn" and logged.signature is not None
    assert len(remote.tracking.get_metric_history(run.id, "loss")) == 50
    assert remote.tracking.read_artifact(run.id, "docs/notes.txt") == b"hi"
    found = remote.tracking.search_runs("churn", filter="metrics.auc > 0.8 or params.C = '9'")
    assert [r.id for r in found.items] == [run.id]
    with pytest.raises(InvalidArgument, match="position"):
        remote.tracking.search_runs("churn", filter="metrics.auc >")
    assert remote.tracking.compare_runs([run.id]).params == {"C": ["1.0"]}

    mv = remote.registry.get_model_version("churn", 1)
    request = remote.registry.set_alias("churn", "champion", mv.version)
    assert request.pending
    with pytest.raises(PermissionDenied):
        remote.registry.approve_promotion(request.id)
    with shipyard.connect(server_url, ann_token) as as_ann:
        assert as_ann.registry.approve_promotion(request.id).status == "approved"
    model = remote.registry.load_model("models:/churn@champion")
    local = platform.registry.load_model("models:/churn@champion")
    assert np.allclose(model.predict(X.head(5)), local.predict(X.head(5)))
    assert [e.approved_by for e in remote.registry.alias_history("churn")] == ["ann"]
    with pytest.raises(NotFound):
        remote.registry.get_model_version_by_alias("churn", "nope")
    remote.close()
