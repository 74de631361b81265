"""Two teams for the source tests: ``fin`` owns a run, a logged model and a registered
model; ``eve`` is an editor of team ``ml`` with a run, a logged model and an (empty)
registered model ``mine`` of her own, so only a source check can refuse her."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from shipyard.platform import Platform


@dataclass
class Teams:
    eve: Platform  # editor of team ml
    fin_exp: str
    fin_run: str
    fin_model: str  # a logged model id (m-...)
    ml_exp: str
    ml_run: str
    ml_model: str


def _fit() -> LogisticRegression:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(30), "b": rng.random(30)})
    return LogisticRegression().fit(X, (X.a > 0.5).astype(int))


def _logged(p: Platform, experiment: str, owner: str) -> tuple[str, str, str]:
    exp = p.tracking.create_experiment(experiment, owner=owner)
    with p.tracking.start_run(experiment=experiment, capture_source=False) as run:
        logged = run.log_model(_fit(), "model")
    return exp.id, run.id, logged.id


def build_teams(platform: Platform) -> Teams:
    fin = _logged(platform, "fin-exp", "fin")
    platform.registry.register_model("finmodel", f"runs:/{fin[1]}/model", owner="fin")
    eve = platform.security.create_principal("eve", role="editor", team="ml")
    as_eve = platform.as_principal(eve)
    ml = _logged(as_eve, "ml-exp", "ml")
    as_eve.registry.create_registered_model("mine", owner="ml")
    return Teams(as_eve, *fin, *ml)


@pytest.fixture
def teams(platform: Platform) -> Teams:
    return build_teams(platform)
