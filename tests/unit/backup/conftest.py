"""A project with two lake table versions and some artifact files, to back up."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shipyard.platform import Platform


def ingest(platform: Platform, tmp: Path, ids: list[int], name: str = "bronze.events") -> None:
    path = tmp / f"events-{ids[0]}.csv"
    pd.DataFrame({"id": ids, "x": [i / 10 for i in ids]}).to_csv(path, index=False)
    platform.lake.ingest(name, path)


@pytest.fixture
def seeded(platform: Platform, tmp_path: Path) -> Platform:
    ingest(platform, tmp_path, [1, 2, 3])
    ingest(platform, tmp_path, [4, 5])
    store = platform.backends.artifacts.get()
    store.put_bytes(b"model bytes", "exp1/run1/artifacts/model/model.pkl")
    store.put_bytes(b"{}", "exp1/run1/artifacts/model/MLmodel")
    return platform
