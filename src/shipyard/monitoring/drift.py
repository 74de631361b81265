"""Drift scores of a current sample against a reference profile.

All four scores are computed on the reference's bins (see ``sketch.py``), so the
reference never has to be kept row by row:

- PSI: sum over the reference deciles (groups of its quantile bins) of
  ``(q - p) * ln(q / p)``, proportions floored at ``EPS``.
- Jensen-Shannon distance (base 2, in [0, 1]) over the same deciles (numeric) or
  values (text); the same number as ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
  (Over 100 bins a 300-row window of an unchanged population scores ~0.25.)
- Chi-square test of homogeneity on the 2 x 100-bins table of counts; the same numbers
  as ``scipy.stats.chi2_contingency(table, correction=False)``.
- Kolmogorov-Smirnov (numeric): the largest gap between the two empirical CDFs at
  the bin edges. scipy's ``ks_2samp`` takes the gap over every point, so ours is a
  lower bound that is short by at most the largest bin mass of either sample
  (<= 0.01 + what drift moved into one bin; tests hold it within 0.02); the p-value
  is scipy's asymptotic one (``kstwo``) for that statistic, or, once the effective
  size ``n*m/(n+m)`` passes ``KSTWO_MAX_N``, its limit ``kstwobign`` at ``d*sqrt(n)``
  (``kstwo`` takes seconds there: 2.5 s at 500k; the two agree within 0.5% relative).

A feature drifts when PSI or JS reaches its threshold and the chi-square p-value is
below ``pvalue``, or when the KS statistic reaches its threshold and its p-value is.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as st

from shipyard.monitoring.models import FeatureDrift, FeatureProfile, Thresholds
from shipyard.monitoring.sketch import bin_counts

EPS = 1e-4
DECILES = 10
#: Above this effective sample size the KS p-value uses the limiting distribution.
KSTWO_MAX_N = 10_000


def psi(ref: np.ndarray, cur: np.ndarray) -> float:
    p = np.maximum(ref / max(ref.sum(), 1), EPS)
    q = np.maximum(cur / max(cur.sum(), 1), EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(ref: np.ndarray, cur: np.ndarray) -> float:
    p = ref / max(ref.sum(), 1)
    q = cur / max(cur.sum(), 1)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(np.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def chi2(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]]).astype(np.float64)
    if table.shape[1] < 2 or table.sum(axis=1).min() == 0:
        return 0.0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(st.chi2.sf(stat, table.shape[1] - 1))


def ks(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    n, m = int(ref.sum()), int(cur.sum())
    if n == 0 or m == 0:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(ref)[:-1] / n - np.cumsum(cur)[:-1] / m), initial=0.0))
    en = n * m / (n + m)
    if en > KSTWO_MAX_N:
        return d, float(min(1.0, st.kstwobign.sf(d * np.sqrt(en))))
    return d, float(min(1.0, st.kstwo.sf(d, round(en))))


def deciles(counts: np.ndarray) -> np.ndarray:
    """Quantile bins grouped into ``DECILES`` groups of (about) equal reference mass."""
    groups = np.arange(counts.size) * DECILES // max(counts.size, 1)
    return np.bincount(groups, weights=counts, minlength=DECILES)


def numeric_drift(
    ref: FeatureProfile, values: np.ndarray, nulls: int, limits: Thresholds
) -> FeatureDrift:
    c = bin_counts(np.asarray(ref.edges, dtype=np.float64), values)
    return numeric_drift_counts(ref, c, nulls, limits)


def numeric_drift_counts(
    ref: FeatureProfile, counts: np.ndarray, nulls: int, limits: Thresholds
) -> FeatureDrift:
    """``numeric_drift`` from the current window's counts in the reference's bins (they
    add up over batches: ``monitoring/stream.py``)."""
    r = np.asarray(ref.counts, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    d, d_p = ks(r, c)
    return _result(ref, r, c, nulls, limits, psi(deciles(r), deciles(c)), (d, d_p))


def categorical_drift(
    ref: FeatureProfile, counts: dict[str, int], nulls: int, limits: Thresholds
) -> FeatureDrift:
    names = list(ref.top)
    r = np.array([*(ref.top[k] for k in names), ref.other], dtype=np.float64)
    known = [counts.get(k, 0) for k in names]
    other = sum(counts.values()) - sum(known)
    c = np.array([*known, other], dtype=np.float64)
    return _result(ref, r, c, nulls, limits, psi(r, c), None)


def _result(
    ref: FeatureProfile,
    r: np.ndarray,
    c: np.ndarray,
    nulls: int,
    limits: Thresholds,
    psi_value: float,
    ks_value: tuple[float, float] | None,
) -> FeatureDrift:
    js = js_distance(
        deciles(r) if ref.kind == "numeric" else r, deciles(c) if ref.kind == "numeric" else c
    )
    stat, p = chi2(r, c)
    # An effect size counts only when the test says it is not noise: small windows
    # scatter over many bins (false drift), large ones make any tiny shift significant.
    reasons = []
    if p < limits.pvalue:
        if psi_value >= limits.psi:
            reasons.append(f"psi {psi_value:.3f} >= {limits.psi}")
        if js >= limits.js:
            reasons.append(f"js {js:.3f} >= {limits.js}")
    if ks_value is not None and ks_value[1] < limits.pvalue and ks_value[0] >= limits.ks:
        reasons.append(f"ks {ks_value[0]:.3f} >= {limits.ks}")
    n_cur = int(c.sum())
    return FeatureDrift(
        feature=ref.name,
        kind=ref.kind,
        n_reference=int(r.sum()),
        n_current=n_cur,
        psi=psi_value,
        js=js,
        chi2=stat,
        chi2_pvalue=p,
        ks=ks_value[0] if ks_value else None,
        ks_pvalue=ks_value[1] if ks_value else None,
        null_rate_reference=ref.null_rate,
        null_rate_current=nulls / (n_cur + nulls) if n_cur + nulls else 0.0,
        drifted=bool(reasons) and n_cur >= limits.min_rows,
        reasons=reasons,
    )
