"""A live server with two teams (``ml``, ``risk``), a principal of every role, and a small seed.

Seeded once per session (a few seconds): lake tables bronze/silver of both teams, a
feature view, an experiment with a run, a registered model, a deployment and an
event topic of team ``ml`` (and a table of team ``risk``). The deployment serves an
in-memory model through the serving seam, so no model file is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pandas as pd
import pytest

from shipyard.errors import NotFound
from shipyard.features import Entity
from shipyard.lake.models import TableDefinition
from shipyard.platform import Platform
from shipyard.serving.context import runtime_for
from shipyard.serving.models import Variant
from shipyard.serving.ports import FeatureRows, ResolvedModel
from tests.security.routes import ml_embeddings, ml_pipeline, ml_vector_index, ml_view
from tests.servers import live_server

ROLES = ("viewer", "predictor", "editor", "approver", "admin")


class _Constant:
    """A model that answers 0.5 for every row."""

    feature_names_in_ = ["x"]

    def predict(self, frame: pd.DataFrame) -> list[float]:
        return [0.5] * len(frame)


class _Models:
    def resolve(self, name: str, *, alias: str | None, version: int | None) -> ResolvedModel:
        if name != "ml_model" or (version not in (None, 1)):
            raise NotFound(f"no model version {name}/{version}")
        return ResolvedModel(name, 1)

    def load(self, model: ResolvedModel) -> Any:
        return _Constant()


def _no_features(feature_service: str, entity_rows: list[dict[str, Any]]) -> FeatureRows:
    return FeatureRows(columns={}, statuses=[{} for _ in entity_rows])


@dataclass
class World:
    url: str
    platform: Platform
    tokens: dict[str, str] = field(default_factory=dict)  # "<team>_<role>" | "nobody"
    run_id: str = ""
    experiment_id: str = ""
    #: (kind, name) -> (version, owner, description, tags) of ml's assets after the seed
    ml_assets: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)

    def ml_snapshot(self) -> dict[tuple[str, str], tuple[Any, ...]]:
        page = self.platform.catalog.search(owner="ml", limit=1000)
        return {(a.kind, a.name): (a.version, a.owner, a.description, a.tags) for a in page.items}

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(who), timeout=30)


def _seed(p: Platform) -> dict[str, str]:
    rows = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "x": [0.1, 0.2],
            "event_ts": [datetime(2026, 1, 1), datetime(2026, 1, 2)],
        }
    )
    for name, team in (
        ("bronze.ml_events", "ml"),
        ("silver.ml_clean", "ml"),
        ("bronze.risk_events", "risk"),
        ("silver.risk_clean", "risk"),
    ):
        p.lake.write(name, rows, mode="overwrite", owner=team)
    p.lake.define(
        TableDefinition(name="gold.ml_daily", sql="SELECT * FROM silver.ml_clean", owner="ml")
    )
    p.lake.write(  # risk's table made from ml's: lineage crosses teams
        "gold.risk_from_ml", rows, mode="overwrite", owner="risk", sources=["table:silver.ml_clean"]
    )
    view = ml_view()
    p.features.apply([Entity(name="ml_customer", join_keys=["customer_id"], owner="ml"), view])
    exp = p.tracking.create_experiment("ml_exp", owner="ml")
    run = p.tracking.create_run(experiment_id=exp.id, run_name="ml_run")
    p.tracking.put_artifact(run.id, "notes.txt", b"secret-ml-bytes")
    p.registry.create_registered_model("ml_model", owner="ml")
    p.catalog.register_asset("model:ml_model@1", owner="ml")
    runtime_for(p.serving, models=_Models(), features=_no_features, refresh_interval=0)
    p.serving.create_deployment(
        "ml_dep", variants=[Variant(name="a", model="ml_model/1")], owner="ml"
    )
    p.events.create_topic("ml_topic", owner="ml")
    p.events.publish("ml_topic", [{"a": 1}])
    p.pipelines.apply([ml_pipeline()])
    p.pipelines.run("ml_pipe")  # queued: no worker runs in this world
    p.lake.write("gold.ml_embeddings", ml_embeddings(), owner="ml")
    p.vectors.apply([ml_vector_index()])
    p.vectors.build("ml_vectors")
    p.training.submit("shipyard.pipelines.builtin:echo", team="ml", experiment="ml_exp")
    return {"run_id": run.id, "experiment_id": exp.id}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    project = tmp_path_factory.mktemp("security") / "project"
    project.mkdir()
    platform = Platform.open(project)
    try:
        ids = _seed(platform)
        tokens: dict[str, str] = {}
        for team in ("ml", "risk"):
            for role in ROLES:
                name = f"{team}_{role}"
                platform.security.create_principal(name, team=team, role=role)
                tokens[name] = platform.security.create_token(principal=name).token
        platform.security.create_principal("nobody", team="ml", role="viewer")
        platform.security.revoke_role("nobody", team="ml")
        tokens["nobody"] = platform.security.create_token(principal="nobody").token
        with live_server(platform) as url:
            world = World(url=url, platform=platform, tokens=tokens, **ids)
            world.ml_assets = world.ml_snapshot()
            yield world
    finally:
        platform.close()
