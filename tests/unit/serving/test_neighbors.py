"""Neighbour feature steps: a deployment scores with its entity's nearest neighbours' column."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.errors import InvalidArgument, PermissionDenied
from shipyard.platform import Platform
from shipyard.serving import NeighborFeatures, Variant
from shipyard.vectors import VectorIndexSpec
from tests.unit.serving.conftest import MemoryModels

STEP = NeighborFeatures(
    index="customers",
    key="customer_id",
    k=3,
    column="churned",
    outputs={"similar_churn": "mean", "similar_n": "count"},
)


class Echo:
    """Predicts the neighbours' churn rate (so the test sees what the model got)."""

    feature_names_in_ = np.array(["similar_churn", "similar_n", "tenure"])

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        assert list(frame.columns) == list(self.feature_names_in_)
        return frame["similar_churn"].to_numpy() + 0 * frame["tenure"].to_numpy()


def _customers(p: Platform, owner: str = "default") -> None:
    """Ten customers in two clusters: 0-4 churned (near 0), 5-9 stayed (near 10)."""
    rng = np.random.default_rng(0)
    base = np.array([[0.0] * 4] * 5 + [[10.0] * 4] * 5)
    vecs = (base + rng.normal(scale=0.1, size=base.shape)).astype(np.float32)
    table = pa.table(
        {
            "customer_id": pa.array(range(10), pa.int64()),
            "embedding": pa.array(vecs.tolist(), pa.list_(pa.float32())),
            "churned": [1] * 5 + [0] * 5,
            "segment": ["a", "b"] * 5,
        }
    )
    p.lake.write("gold.customers", table, owner=owner)
    spec = VectorIndexSpec(
        name="customers",
        table="gold.customers",
        id_column="customer_id",
        vector_column="embedding",
        dimension=4,
        metric="l2",
        index_type="exact",
        filterable=("segment",),
    )
    p.vectors.apply([spec])
    p.vectors.build("customers")


@pytest.fixture
def neighbours(served: Platform, models: MemoryModels) -> Platform:
    _customers(served)
    models.add("sim", Echo(), alias="champion")
    served.catalog.register_asset("model:sim@1")
    return served


def _deploy(p: Platform, *steps: NeighborFeatures, **extra: Any) -> None:
    p.serving.create_deployment(
        "sim",
        variants=[Variant(name="a", model="sim@champion")],
        entity_keys=["customer_id"],
        request_fields={"tenure": "float64"},
        neighbors=list(steps),
        **extra,
    )


def test_neighbours_churn_rate_is_a_model_input(neighbours: Platform) -> None:
    _deploy(neighbours, STEP)
    rows = [{"customer_id": c, "tenure": 1.0} for c in (0, 7, 99)]
    out = neighbours.serving.predict("sim", rows)
    assert out.predictions[:2] == [1.0, 0.0]
    assert np.isnan(out.predictions[2])  # customer 99 is not in the index
    assert out.feature_status[0] == {"similar_churn": "PRESENT", "similar_n": "PRESENT"}
    assert out.feature_status[2]["similar_churn"] == "NOT_FOUND"
    spec = neighbours.serving.get_deployment("sim").spec
    assert spec.neighbors == [STEP]
    # a filtered step, and rows without features refused
    seg = STEP.model_copy(update={"k": 10, "filter": {"segment": "a"}})
    neighbours.serving.update_deployment("sim", neighbors=[seg], require_features=True)
    # segment a is the even ids: 0, 2, 4 churned, 6, 8 stayed; customer 0 itself is left out
    out = neighbours.serving.predict("sim", [{"customer_id": 0, "tenure": 1.0}])
    assert out.predictions == [pytest.approx(0.5)]
    with pytest.raises(InvalidArgument, match="requires features"):
        neighbours.serving.predict("sim", [{"customer_id": 99, "tenure": 1.0}])


BAD_STEPS: list[tuple[dict[str, Any], str]] = [
    ({"index": "nope"}, "no vector index named 'nope'"),
    ({"column": "missing"}, "has no column 'missing'"),
    ({"column": "segment"}, "a string column, not a number"),
    ({"key": "region"}, "key 'region' is not an entity key or request field"),
    ({"column": None}, "'mean' of what"),
    ({"filter": {"churned": 1}}, "'churned' is not a filterable column"),
    ({"outputs": {"tenure": "count"}}, "feature 'tenure' is named twice"),
]


def test_bad_steps_are_refused_at_deploy_time(neighbours: Platform) -> None:
    for change, message in BAD_STEPS:  # one platform for all: each setup costs ~1 s
        bad = STEP.model_copy(update=change)
        with pytest.raises(InvalidArgument, match=message):
            _deploy(neighbours, bad)


def test_an_index_the_deployer_cannot_read_is_refused(
    served: Platform, models: MemoryModels
) -> None:
    _customers(served, owner="other")
    models.add("sim", Echo(), alias="champion")
    served.catalog.register_asset("model:sim@1")
    served.security.create_principal("eve", team="default", role="editor")
    eve = served.as_principal(served.security.get_principal("eve"))
    with pytest.raises(PermissionDenied):
        _deploy(eve, STEP)
    _deploy(served, STEP)  # an admin may; eve may not sneak it in by an update either
    with pytest.raises(PermissionDenied):
        eve.serving.update_deployment("sim", neighbors=[STEP.model_copy(update={"k": 2})])


def test_over_http_hostile_callers_get_4xx(neighbours: Platform) -> None:
    """Another team's editor, a role-less token, malformed steps: 4xx in one line, never 500."""
    import httpx

    from shipyard.security.models import Role
    from tests.servers import live_server

    sec = neighbours.security
    sec.create_principal("otto", team="other", role=Role.EDITOR)
    sec.create_principal("nora", team="default", role=Role.VIEWER)
    sec.revoke_role("nora", team="default")
    step = STEP.model_dump(mode="json")
    body = {
        "name": "sim",
        "variants": [{"name": "a", "model": "sim@champion"}],
        "entity_keys": ["customer_id"],
        "request_fields": {"tenure": "float64"},
        "neighbors": [step],
    }
    bad_steps = [
        {**step, "k": 0},
        {**step, "k": "ten"},
        {**step, "outputs": {"x": "median"}},
        {**step, "outputs": {}},
        {**step, "extra": 1},
        {**step, "index": "x" * 300},
        {**step, "index": "nope"},
        "customers",
    ]
    auth = {
        who: {"Authorization": f"Bearer {sec.create_token(principal=who).token}"}
        for who in (None, "otto", "nora")
    }
    with live_server(neighbours) as url, httpx.Client(base_url=url, timeout=30) as http:

        def post(who: str | None, payload: dict[str, Any]) -> httpx.Response:
            return http.post("/api/v1/deployments", json=payload, headers=auth[who])

        for who in ("otto", "nora"):
            r = post(who, body)
            assert r.status_code == 403, f"{who}: {r.status_code} {r.text}"
        for bad in bad_steps:
            r = post(None, {**body, "neighbors": [bad]})
            assert 400 <= r.status_code < 500 and "\n" not in r.text, f"{bad}: {r.text}"
        r = post(None, body)
        assert r.status_code == 201, r.text
        r = http.post(
            "/api/v1/deployments/sim/predict",
            json={"inputs": [{"customer_id": 5, "tenure": 2.0}]},
            headers=auth["otto"],
        )
        assert r.status_code == 403, r.text
