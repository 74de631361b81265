"""``entity_source`` SQL runs in the lake's SQL sandbox (issue #10, finding 2)."""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument
from shipyard.features.models import FeatureView
from shipyard.platform import Platform


def test_entity_source_cannot_read_files(platform: Platform, customer_view: FeatureView) -> None:
    root = Path(platform.lake.storage.root)
    part = glob.glob(str(root / "gold" / "customer_daily" / "*.parquet"))[0]
    for sql in (f"SELECT * FROM read_parquet('{part}')", "SELECT 1; SET threads=1"):
        with pytest.raises(InvalidArgument):
            platform.features.get_historical_features(sql, features=["customer_daily:f0"])
    rows = platform.features.get_historical_features(
        "SELECT customer_id, event_ts FROM gold.customer_daily", features=["customer_daily:f0"]
    )
    assert len(rows) == 6
