"""Drift scores against scipy's tests on the same data (tolerances in drift.py's docstring)."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from shipyard.monitoring import drift, sketch
from shipyard.monitoring.models import Thresholds

LIMITS = Thresholds()


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.3, 1.0])
def test_numeric_scores_agree_with_scipy(shift: float) -> None:
    rng = np.random.default_rng(7)
    ref_values = rng.normal(size=20_000)
    cur_values = rng.normal(loc=shift, scale=1 + shift / 2, size=15_000)
    ref = sketch.numeric_profile("x", ref_values, 0)
    out = drift.numeric_drift(ref, cur_values, 0, LIMITS)

    edges = np.asarray(ref.edges)
    r = sketch.bin_counts(edges, ref_values)
    c = sketch.bin_counts(edges, cur_values)
    assert r.tolist() == ref.counts
    chi = stats.chi2_contingency(np.vstack([r, c]), correction=False)
    assert out.chi2 == pytest.approx(chi.statistic, rel=1e-9)
    assert out.chi2_pvalue == pytest.approx(chi.pvalue, rel=1e-6, abs=1e-300)
    exact = stats.ks_2samp(ref_values, cur_values, method="asymp")
    assert out.ks is not None and 0 <= exact.statistic - out.ks <= 0.02
    assert (out.ks_pvalue < 0.01) == (exact.pvalue < 0.01)

    # PSI and JS over the reference deciles (raw samples binned on raw decile edges).
    dec = np.quantile(ref_values, np.linspace(0, 1, 11)[1:-1])
    rd = np.bincount(np.searchsorted(dec, ref_values, "right"), minlength=10)
    cd = np.bincount(np.searchsorted(dec, cur_values, "right"), minlength=10)
    assert out.js == pytest.approx(jensenshannon(rd, cd, base=2), abs=1e-3)
    p = np.maximum(rd / 20_000, 1e-4)
    q = np.maximum(cd / 15_000, 1e-4)
    assert out.psi == pytest.approx(float(np.sum((q - p) * np.log(q / p))), abs=0.01)

    assert out.drifted == (shift >= 0.3)


def test_categorical_scores_agree_with_scipy() -> None:
    rng = np.random.default_rng(3)
    ref_values = rng.choice(["a", "b", "c", "d"], p=[0.4, 0.3, 0.2, 0.1], size=10_000)
    cur_values = rng.choice(["a", "b", "c", "e"], p=[0.2, 0.3, 0.2, 0.3], size=8_000)
    ref = sketch.profile_column("s", pa.array(ref_values))
    counts, nulls = sketch.category_counts(pa.array(cur_values))
    out = drift.categorical_drift(ref, counts, nulls, LIMITS)
    names = list(ref.top)
    r = np.array([*(ref.top[k] for k in names), 0])
    c = np.array([*(int((cur_values == k).sum()) for k in names), int((cur_values == "e").sum())])
    chi = stats.chi2_contingency(np.vstack([r, c])[:, (r + c) > 0], correction=False)
    assert out.chi2 == pytest.approx(chi.statistic, rel=1e-9)
    assert out.js == pytest.approx(jensenshannon(r, c, base=2), abs=1e-9)
    assert out.drifted and out.ks is None


def test_a_small_unchanged_window_is_not_drift() -> None:
    """300 rows of the reference population: scores are noisy, the tests say so."""
    rng = np.random.default_rng(11)
    ref = sketch.numeric_profile("x", rng.normal(size=2000), 0)
    flagged = [drift.numeric_drift(ref, rng.normal(size=300), 0, LIMITS).drifted for _ in range(50)]
    assert sum(flagged) <= 3  # ~1% expected at p < 0.01 (two tests)


def test_histograms_with_the_same_edges_merge_exactly() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=5000), rng.normal(size=3000)
    ref = sketch.numeric_profile("x", a, 2)
    edges = np.asarray(ref.edges)
    other = ref.model_copy(
        update={
            "counts": sketch.bin_counts(edges, b).tolist(),
            "count": 3000,
            "mean": float(b.mean()),
            "std": float(b.std()),
            "nulls": 1,
        }
    )
    merged = sketch.merge(ref, other)
    both = np.concatenate([a, b])
    assert merged.counts == sketch.bin_counts(edges, both).tolist()
    assert merged.mean == pytest.approx(both.mean()) and merged.std == pytest.approx(both.std())
    assert merged.nulls == 3
    with pytest.raises(ValueError):
        sketch.merge(ref, sketch.numeric_profile("x", b, 0))


def test_drift_over_100k_rows_of_20_features_is_under_a_second() -> None:
    rng = np.random.default_rng(0)
    ref = {f"f{i}": sketch.numeric_profile(f"f{i}", rng.normal(size=100_000), 0) for i in range(20)}
    window = {f"f{i}": rng.normal(size=100_000) for i in range(20)}
    t0 = time.perf_counter()
    results = [drift.numeric_drift(ref[k], v, 0, LIMITS) for k, v in window.items()]
    assert time.perf_counter() - t0 < 1.0
    assert not any(r.drifted for r in results)


def test_large_windows_take_the_limiting_ks_distribution_quickly() -> None:
    import time

    from shipyard.monitoring import drift as d

    ref = np.full(100, 10_000.0)  # 1M rows on 100 bins
    cur = ref.copy()
    cur[:50] += 60.0
    cur[50:] -= 60.0
    t0 = time.perf_counter()
    stat, p = d.ks(ref, cur)
    assert time.perf_counter() - t0 < 0.1  # kstwo at n=500k takes seconds
    en = round(1_000_000 * cur.sum() / (1_000_000 + cur.sum()))
    assert p == pytest.approx(stats.kstwo.sf(stat, en), rel=0.01)
