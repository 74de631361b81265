"""The feature service contract: the same answers in-process and over ``shipyard.connect``.

Subclasses provide ``catalog_url``; ``skin`` (tests/contract/remote.py) runs each
case against ``Platform`` and against the remote client.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from shipyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from shipyard.features import PRESENT, Entity, Feature, FeatureService, FeatureView, PushSource
from shipyard.platform import Platform
from tests.contract.remote import Skin, Skins

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


VIEW = FeatureView(
    name="customer_daily",
    entities=["customer"],
    source="gold.customer_daily",
    timestamp_field="event_ts",
    features=[Feature("f0", "float64"), Feature("n", "int64")],
    ttl=None,
)
DEFINITIONS = [
    Entity(name="customer", join_keys=["customer_id"]),
    VIEW,
    FeatureService(name="churn", features=[VIEW]),
]


class FeatureServiceContract(Skins):
    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        raise NotImplementedError

    @pytest.fixture
    def plat(self, tmp_path: Path, catalog_url: str, skin: Skin) -> Iterator[Platform]:
        p = Platform.open(tmp_path, catalog={"url": catalog_url})
        rows = [(1, 1, 1.0), (1, 3, 3.0), (2, 2, 20.0), (3, 1, 30.0)]
        p.lake.write(
            "gold.customer_daily",
            pa.table(
                {
                    "customer_id": [k for k, _, _ in rows],
                    "event_ts": pa.array([day(d) for _, d, _ in rows], pa.timestamp("us", "UTC")),
                    "f0": [v for _, _, v in rows],
                    "n": [d for _, d, _ in rows],
                }
            ),
        )
        yield skin(p)
        p.close()

    def test_plan_apply_and_definitions(self, plat: Platform) -> None:
        plan = plat.features.plan(DEFINITIONS)
        assert sorted(c.action for c in plan.changes) == ["create"] * 3
        plat.features.apply(DEFINITIONS)
        assert [c.action for c in plat.features.plan(DEFINITIONS).changes] in (
            [],
            ["unchanged"] * 3,
        )
        [view] = plat.features.list_definitions("feature_view").items
        assert (view.name, [f.name for f in view.features]) == ("customer_daily", ["f0", "n"])
        assert plat.features.get_definition("feature_service", "churn").name == "churn"
        with pytest.raises(NotFound):
            plat.features.get_definition("feature_view", "nope")
        changed = FeatureView(**{**vars(view), "features": [Feature("f0", "int64")]})
        with pytest.raises(Conflict, match="type of 'f0'"):
            plat.features.apply([changed])

    def test_materialize_and_online_reads(self, plat: Platform) -> None:
        plat.features.apply(DEFINITIONS)
        [res] = plat.features.materialize()
        assert (res.view, res.entities) == ("customer_daily", 3)
        got = plat.features.get_online_features(
            feature_service="churn", entity_rows=[{"customer_id": 1}, {"customer_id": 9}]
        )
        assert got.to_dict()["f0"] == [3.0, None]
        assert got.statuses["f0"][0] == PRESENT and got.event_timestamps["f0"][0] == day(3)
        assert plat.features.get_view_status("customer_daily")["entities"] == 3
        with pytest.raises(InvalidArgument, match="customer_id"):
            plat.features.get_online_features(feature_service="churn", entity_rows=[{"id": 1}])

    def test_point_in_time_and_training_sets(self, plat: Platform) -> None:
        plat.features.apply(DEFINITIONS)
        entities = pd.DataFrame(
            {"customer_id": [1, 1, 2], "event_timestamp": [day(2), day(4), day(1.5)]}
        )
        frame = plat.features.get_historical_features(
            entities, ["customer_daily:f0"], full_feature_names=True
        )
        assert frame["customer_daily__f0"].tolist()[:2] == [1.0, 3.0]
        assert pd.isna(frame["customer_daily__f0"].tolist()[2])
        table = plat.features.get_historical_table(entities, feature_service="churn")
        assert table.num_rows == 3 and {"f0", "n"} <= set(table.column_names)
        ts = plat.features.create_training_set(
            "train", entities, feature_service="churn", description="for churn"
        )
        assert (ts.version, ts.num_rows, ts.table) == (1, 3, "datasets.train")
        assert plat.features.get_training_set("train").table == "datasets.train"
        assert plat.catalog.get_asset("training_set:train").description == "for churn"
        assert plat.features.rebuild_training_set("train", 1).num_rows == 3

    def test_push_and_permissions(self, plat: Platform) -> None:
        clicks = FeatureView(
            name="clicks",
            entities=["customer"],
            source=PushSource("clicks_push", "bronze.clicks"),
            timestamp_field="ts",
            features=[Feature("clicks", "int64")],
        )
        plat.features.apply([*DEFINITIONS, clicks])
        res = plat.features.push("clicks_push", [{"customer_id": 5, "ts": day(1), "clicks": 2}])
        assert (res.rows, res.online_written) == (1, 1)
        got = plat.features.get_online_features(["clicks:clicks"], entity_rows=[{"customer_id": 5}])
        assert got.to_dict()["clicks"] == [2]
        with pytest.raises(InvalidArgument, match="expects int64"):
            plat.features.push("clicks_push", [{"customer_id": 5, "ts": day(2), "clicks": "x"}])
        viewer = plat.as_principal(plat.security.create_principal("vic", role="viewer"))
        with pytest.raises(PermissionDenied):
            viewer.features.push("clicks_push", [{"customer_id": 5, "ts": day(3), "clicks": 1}])
        with pytest.raises(PermissionDenied):
            viewer.features.apply([FeatureService(name="mine", features=["clicks:clicks"])])
