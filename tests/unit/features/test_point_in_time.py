"""Every point-in-time rule, one by one, against a brute-force reference."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.features import Entity, Feature, FeatureService, FeatureView, pit, sources
from shipyard.platform import Platform
from tests.unit.features.helpers import brute_force, day, same, write_table

FEATS = ["f1", "f2"]


@pytest.fixture(autouse=True, params=["asof", "band", "band-dataset"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every rule holds under each plan of ``pit.py``: ASOF, band reading the winners'
    features by Parquet row id, and band over a pyarrow dataset (features carried)."""
    band = request.param != "asof"
    monkeypatch.setattr(pit, "BAND_MAX_PAIRS_PER_SOURCE_ROW", float("inf") if band else -1.0)
    if request.param == "band-dataset":
        monkeypatch.setattr(sources, "_plain_files", lambda dt: None)
    return str(request.param)


def _setup(
    platform: Platform,
    rows: list[tuple[int, float, float, float]],
    *,
    ttl: timedelta | None = None,
    created: bool = True,
) -> pd.DataFrame:
    """Source rows (key, event day, created day, f1); f2 = 10 * f1."""
    src = pd.DataFrame(
        {
            "k": [r[0] for r in rows],
            "ts": [day(r[1]) for r in rows],
            "created": [day(r[2]) for r in rows],
            "f1": [r[3] for r in rows],
            "f2": [int(r[3] * 10) for r in rows],
        }
    )
    write_table(platform, "gold.src", src)
    view = FeatureView(
        name="v",
        entities=["e"],
        source="gold.src",
        timestamp_field="ts",
        created_timestamp_field="created" if created else None,
        ttl=ttl,
        features=[Feature("f1", "float64"), Feature("f2", "int64")],
    )
    platform.features.apply(
        [Entity(name="e", join_keys=["k"]), view, FeatureService(name="s", features=[view])]
    )
    return src


def _entities(pairs: list[tuple[int, float]]) -> pd.DataFrame:
    return pd.DataFrame({"k": [p[0] for p in pairs], "event_timestamp": [day(p[1]) for p in pairs]})


def _check(platform: Platform, ent: pd.DataFrame, src: pd.DataFrame, **kw: object) -> pd.DataFrame:
    filter_created = bool(kw.pop("filter_created", False))
    ttl = kw.pop("ttl", None)
    got = platform.features.get_historical_features(
        ent, feature_service="s", filter_by_created_timestamp=filter_created
    )
    want = brute_force(
        ent,
        src,
        key="k",
        ts="ts",
        features=FEATS,
        ttl=ttl,  # type: ignore[arg-type]
        created="created",
        filter_created=filter_created,
    )
    assert len(got) == len(ent)
    assert got["k"].tolist() == ent["k"].tolist()
    for i, w in enumerate(want):
        for f in FEATS:
            assert same(got[f].iloc[i], w[f]), (i, f, got[f].iloc[i], w[f])
    return got


def test_latest_row_at_or_before_entity_time(platform: Platform) -> None:
    src = _setup(platform, [(1, 1, 1, 1.0), (1, 3, 3, 3.0), (1, 5, 5, 5.0)])
    got = _check(platform, _entities([(1, 0.5), (1, 1), (1, 4), (1, 5), (1, 9)]), src)
    assert got["f1"].tolist()[1:] == [1.0, 3.0, 5.0, 5.0]  # entity_ts == event_ts is inclusive
    assert np.isnan(got["f1"].iloc[0])


def test_ttl_lower_bound_is_inclusive(platform: Platform) -> None:
    ttl = timedelta(days=2)
    src = _setup(platform, [(1, 1, 1, 1.0)], ttl=ttl)
    got = _check(platform, _entities([(1, 3), (1, 3.0001)]), src, ttl=ttl)
    assert got["f1"].iloc[0] == 1.0  # exactly entity_ts - ttl still counts
    assert np.isnan(got["f1"].iloc[1])


def test_ttl_zero_means_no_lower_bound(platform: Platform) -> None:
    src = _setup(platform, [(1, 1, 1, 1.0)], ttl=timedelta(0))
    got = _check(platform, _entities([(1, 400)]), src)
    assert got["f1"].iloc[0] == 1.0


def test_event_time_tie_greatest_created_wins(platform: Platform) -> None:
    src = _setup(platform, [(1, 2, 2, 1.0), (1, 2, 4, 2.0), (1, 2, 3, 3.0)])
    got = _check(platform, _entities([(1, 2), (1, 10)]), src)
    assert got["f1"].tolist() == [2.0, 2.0]


def test_filter_by_created_timestamp(platform: Platform) -> None:
    # The day-2 row was only created on day 6 (a late correction).
    src = _setup(platform, [(1, 1, 1, 1.0), (1, 2, 6, 2.0)])
    got = _check(platform, _entities([(1, 3), (1, 7)]), src, filter_created=True)
    assert got["f1"].tolist() == [1.0, 2.0]
    plain = _check(platform, _entities([(1, 3)]), src)
    assert plain["f1"].tolist() == [2.0]


def test_no_match_is_kept_with_nulls(platform: Platform) -> None:
    src = _setup(platform, [(1, 1, 1, 1.0)])
    got = _check(platform, _entities([(2, 5), (1, 5)]), src)
    assert np.isnan(got["f1"].iloc[0]) and got["f1"].iloc[1] == 1.0


def test_duplicates_and_input_order_are_kept(platform: Platform) -> None:
    src = _setup(platform, [(1, 1, 1, 1.0), (2, 2, 2, 2.0), (3, 3, 3, 3.0)])
    ent = _entities([(3, 9), (1, 9), (3, 9), (2, 0), (1, 9), (2, 9)])
    got = _check(platform, ent, src)
    assert got["k"].tolist() == [3, 1, 3, 2, 1, 2]
    assert got["f1"].tolist()[:3] == [3.0, 1.0, 3.0]


def test_naive_timestamps_are_utc(platform: Platform) -> None:
    src = _setup(platform, [(1, 1, 1, 1.0), (1, 1.5, 1.5, 2.0)])
    ent = pd.DataFrame({"k": [1], "event_timestamp": [day(1.25).replace(tzinfo=None)]})
    got = platform.features.get_historical_features(ent, feature_service="s")
    assert got["f1"].tolist() == [1.0]
    # the same instant in another zone gives the same answer
    other = pd.DataFrame(
        {"k": [1], "event_timestamp": [pd.Timestamp(day(1.25)).tz_convert("Asia/Tokyo")]}
    )
    assert platform.features.get_historical_features(other, feature_service="s")["f1"].tolist() == [
        1.0
    ]
    assert len(src) == 2


def test_mixed_naive_and_aware_timestamps_are_refused(platform: Platform) -> None:
    _setup(platform, [(1, 1, 1, 1.0)])
    ent = pd.DataFrame(
        {"k": [1, 1], "event_timestamp": [day(2), day(2).replace(tzinfo=None)]}, dtype=object
    )
    with pytest.raises(InvalidArgument, match="mixes naive"):
        platform.features.get_historical_features(ent, feature_service="s")


def test_full_feature_names_and_feature_refs(platform: Platform) -> None:
    _setup(platform, [(1, 1, 1, 1.0)])
    got = platform.features.get_historical_features(
        _entities([(1, 2)]), features=["v:f2"], full_feature_names=True
    )
    assert list(got.columns) == ["k", "event_timestamp", "v__f2"]
    assert got["v__f2"].tolist() == [10]


def test_arrow_entity_rows(platform: Platform) -> None:
    import pyarrow as pa

    _setup(platform, [(1, 1, 1, 1.0)])
    rows = pa.table({"k": [1], "event_timestamp": pa.array([day(2)], pa.timestamp("us", "UTC"))})
    got = platform.features.get_historical_features(rows, features=["v:f1"])
    assert got["f1"].tolist() == [1.0]


def test_missing_columns_and_unknown_refs_are_named(platform: Platform) -> None:
    _setup(platform, [(1, 1, 1, 1.0)])
    with pytest.raises(InvalidArgument, match=r"join key column.*k"):
        platform.features.get_historical_features(
            pd.DataFrame({"x": [1], "event_timestamp": [day(1)]}), feature_service="s"
        )
    with pytest.raises(InvalidArgument, match="no timestamp column 'when'"):
        platform.features.get_historical_features(
            _entities([(1, 1)]), feature_service="s", timestamp_column="when"
        )
    with pytest.raises(NotFound, match="did you mean 'f1'"):
        platform.features.get_historical_features(_entities([(1, 1)]), features=["v:f11"])
    with pytest.raises(NotFound, match="no feature service named 'ss'"):
        platform.features.get_historical_features(_entities([(1, 1)]), feature_service="ss")


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("mode", ["plain", "ttl", "created", "ttl+created"])
def test_random_against_brute_force(platform: Platform, seed: int, mode: str) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    rows = [
        (int(rng.integers(0, 12)), float(rng.integers(0, 40)), float(rng.integers(0, 50)), float(i))
        for i in range(n)
    ]
    # make (key, event, created) unique so that the winner is well defined
    seen: set[tuple[int, float, float]] = set()
    rows = [r for r in rows if (r[0], r[1], r[2]) not in seen and not seen.add((r[0], r[1], r[2]))]
    ttl = timedelta(days=5) if "ttl" in mode else None
    src = _setup(platform, rows, ttl=ttl)
    ent = _entities([(int(rng.integers(0, 14)), float(rng.integers(-2, 45))) for _ in range(200)])
    _check(platform, ent, src, ttl=ttl, filter_created="created" in mode)


def test_entity_rows_from_a_lake_table_or_sql(platform: Platform) -> None:
    from tests.unit.features.helpers import write_table

    _setup(platform, [(1, 1, 1, 1.0), (2, 2, 2, 2.0)])
    write_table(platform, "silver.labels", _entities([(2, 3), (1, 3)]))
    by_table = platform.features.get_historical_features("silver.labels", features=["v:f1"])
    assert by_table["f1"].tolist() == [2.0, 1.0]
    by_sql = platform.features.get_historical_features(
        "SELECT * FROM silver.labels WHERE k = 1", features=["v:f1"]
    )
    assert by_sql["f1"].tolist() == [1.0]
