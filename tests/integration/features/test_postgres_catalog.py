"""The feature store with its catalog on PostgreSQL: definitions, runs, training sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.errors import Conflict
from shipyard.features import Entity, Feature, FeatureService, FeatureView
from shipyard.platform import Platform
from tests.unit.features.conftest import FEATURES, customer_source
from tests.unit.features.helpers import (
    assert_online_reads_follow_other_processes,
    day,
    write_table,
)

pytestmark = pytest.mark.integration


def test_feature_store_on_a_postgres_catalog(project_dir: Path, pg_url: str) -> None:
    p = Platform.open(project_dir, catalog={"url": pg_url})
    try:
        write_table(
            p,
            "gold.spend",
            pd.DataFrame(
                {"customer_id": [1, 2], "event_ts": [day(1), day(2)], "spend": [1.0, 2.0]}
            ),
        )
        view = FeatureView(
            name="spend",
            entities=["customer"],
            source="gold.spend",
            timestamp_field="event_ts",
            features=[Feature("spend", "float64")],
        )
        p.features.apply(
            [
                Entity(name="customer", join_keys=["customer_id"]),
                view,
                FeatureService(name="svc", features=[view]),
            ]
        )
        with pytest.raises(Conflict):
            p.features.apply(
                [FeatureView(**{**vars(view), "features": [Feature("spend", "int64")]})]
            )
        [res] = p.features.materialize()
        assert res.entities == 2
        status = p.features.get_view_status("spend")
        assert status["statistics"]["spend"]["max"] == 2.0 and status["runs"] == 1
        ent = pd.DataFrame({"customer_id": [1, 2], "event_timestamp": [day(3), day(3)]})
        ts = p.features.create_training_set("t", ent, feature_service="svc")
        assert ts.to_pandas()["spend"].tolist() == [1.0, 2.0]
    finally:
        p.close()


def test_online_reads_follow_another_process_apply_on_postgres(
    project_dir: Path, pg_url: str
) -> None:
    p = Platform.open(project_dir, catalog={"url": pg_url})
    try:
        write_table(p, "gold.customer_daily", customer_source([1, 2], [1, 2]))
        view = FeatureView(
            name="customer_daily",
            entities=["customer"],
            source="gold.customer_daily",
            timestamp_field="event_ts",
            features=list(FEATURES),
        )
        p.features.apply(
            [
                Entity(name="customer", join_keys=["customer_id"]),
                view,
                FeatureService(name="churn", features=[view]),
            ]
        )
        assert_online_reads_follow_other_processes(p)
    finally:
        p.close()
