"""The stock ``mlflow`` client against a real ``shipyard serve`` process."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.platform import Platform
from tests.servers import served_project

# MLflow warns about its own type inference while saving; those are not our warnings.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(URL, admin token, project dir) of a live server."""
    project = tmp_path_factory.mktemp("mlflow-project")
    with Platform.open(project) as p:
        token = p.security.create_token(name="mlflow").token
    with served_project(project) as url:
        yield url, token, project


@pytest.fixture
def client(server: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    url, token, _ = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(url)
    mlflow.set_registry_uri(url)
    yield mlflow.MlflowClient(url, url)
    mlflow.set_tracking_uri(None)


@pytest.fixture
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"orders_7d": rng.random(60), "amount": rng.random(60) * 9})
    return X, (X.orders_7d > 0.5).astype(int)


def test_tracking_through_the_mlflow_client(client: Any, server: Any, tmp_path: Path) -> None:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    exp_id = mlflow.set_experiment("mlflow-compat").experiment_id
    assert client.get_experiment_by_name("mlflow-compat").experiment_id == exp_id
    (tmp_path / "notes.txt").write_text("hello")
    with mlflow.start_run(run_name="rf") as run:
        mlflow.log_param("model", "rf")
        mlflow.log_params({"n_estimators": 200, "max_depth": 4})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"auc": 0.91, "nan_metric": float("nan")})
        mlflow.set_tag("team", "risk")
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        mlflow.log_dict({"k": 1}, "meta/info.json")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("batch", 2.0, 0, 1)],
            params=[Param("lr", "0.1")],
            tags=[RunTag("b", "1")],
        )
        with pytest.raises(MlflowException) as err:
            mlflow.log_param("model", "gbm")
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    run_id = run.info.run_id
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.data.params == {"model": "rf", "n_estimators": "200", "max_depth": "4", "lr": "0.1"}
    assert got.data.metrics["auc"] == pytest.approx(0.91)
    assert math.isnan(got.data.metrics["nan_metric"])
    assert got.data.tags["team"] == "risk"
    history = client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    found = client.search_runs(
        [exp_id], "metrics.auc > 0.8 and params.model = 'rf'", order_by=["metrics.auc DESC"]
    )
    assert [r.info.run_id for r in found] == [run_id]
    assert {f.path for f in client.list_artifacts(run_id)} == {"docs", "meta"}
    local = client.download_artifacts(run_id, "docs/notes.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello"
    with pytest.raises(MlflowException) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # runs logged through MLflow are ordinary Shipyard runs
    with Platform.open(server[2]) as p:
        same = p.tracking.get_run(run_id)
        assert same.params["model"] == "rf" and same.metrics["auc"] == pytest.approx(0.91)
        assert p.catalog.get_asset(f"run:{run_id}").kind == "run"


def test_models_and_aliases_through_the_mlflow_client(
    client: Any, server: Any, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    from mlflow.exceptions import MlflowException

    X, y = data
    mlflow.set_experiment("mlflow-models")
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name="mlchurn",
            input_example=X.head(3),
            pip_requirements=["scikit-learn"],
        )
    assert str(info.registered_model_version) == "1"
    client.set_registered_model_alias("mlchurn", "challenger", "1")
    mv = client.get_model_version_by_alias("mlchurn", "challenger")
    assert mv.version == "1" and mv.run_id == run.info.run_id
    loaded = mlflow.pyfunc.load_model("models:/mlchurn@challenger")
    expected = model.predict(X.head(5))
    assert np.array_equal(np.asarray(loaded.predict(X.head(5))), expected)
    with pytest.raises(MlflowException) as err:
        client.set_registered_model_alias("mlchurn", "champion", "1")
    assert err.value.error_code == "PERMISSION_DENIED"
    # Shipyard loads what MLflow logged, and records its lineage
    with Platform.open(server[2]) as p:
        ours = p.registry.load_model("models:/mlchurn@challenger")
        assert np.array_equal(ours.predict(X.head(5)), expected)
        assert [r.status for r in p.registry.list_promotions(name="mlchurn").items] == [
            "pending",
            "applied",
        ]
        graph = p.catalog.lineage("model:mlchurn")
        assert f"run:{run.info.run_id}@1" in {str(n) for n in graph.nodes}


def test_mlflow_loads_a_model_logged_by_shipyard(
    client: Any, server: Any, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = data
    model = LogisticRegression().fit(X, y)
    with Platform.open(server[2]) as p:
        with p.tracking.start_run(experiment="sdk-models") as run:
            run.log_model(model, "model", input_example=X.head(3))
        p.registry.register_model("sdkchurn", source=f"runs:/{run.id}/model")
        p.registry.set_alias("sdkchurn", "challenger", 1)
    loaded = mlflow.pyfunc.load_model("models:/sdkchurn@challenger")
    assert np.array_equal(np.asarray(loaded.predict(X.head(5))), model.predict(X.head(5)))


def test_log_model_does_not_duplicate_the_run_metric_history(
    client: Any, server: Any, data: tuple[pd.DataFrame, pd.Series]
) -> None:
    """MLflow 3 re-sends the run's metrics with a ``model_id`` when a model is logged
    (issue #12 item 1): they belong to the logged model, not to the run's history again."""
    X, y = data
    mlflow.set_experiment("mlflow-history")
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run() as run:
        for step in range(30):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        info = mlflow.sklearn.log_model(model, name="model", input_example=X.head(3))
        mlflow.log_metric("acc", 0.9, model_id=info.model_id)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(30))
    assert [m.step for m in client.get_metric_history(run.info.run_id, "acc")] == [0]
    assert client.get_run(run.info.run_id).data.metrics["loss"] == pytest.approx(1 / 30)


def test_searches_through_the_mlflow_client(client: Any, server: Any) -> None:
    """Experiment, model and version filters as the client sends them (``tracking.search``)."""
    from mlflow.exceptions import MlflowException

    for name in ("find-a", "find-b", "other"):
        client.create_experiment(f"search-{name}")
        client.create_registered_model(f"search_{name.replace('-', '_')}")
    with Platform.open(server[2]) as p:
        with p.tracking.start_run(experiment="search-find-a") as run:
            run.log_param("p", "1")
        for _ in range(2):
            p.registry.register_model("search_find_a", source=f"runs:/{run.id}")
    found = client.search_experiments(filter_string="name LIKE 'search-find-%'")
    assert sorted(e.name for e in found) == ["search-find-a", "search-find-b"]
    assert [e.name for e in client.search_experiments(filter_string="name = 'search-other'")] == [
        "search-other"
    ]
    models = client.search_registered_models(filter_string="name ILIKE 'SEARCH_FIND%'")
    assert sorted(m.name for m in models) == ["search_find_a", "search_find_b"]
    latest = {m.name: [v.version for v in m.latest_versions] for m in models}
    assert latest == {"search_find_a": ["2"], "search_find_b": []}
    versions = client.search_model_versions("name='search_find_a'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    by_run = client.search_model_versions(f"name = 'search_find_a' and run_id = '{run.id}'")
    assert len(by_run) == 2
    for bad in ("tags.team = 'x'", "name = 'a' OR name = 'b'"):
        with pytest.raises(MlflowException) as err:
            client.search_registered_models(filter_string=bad)
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
