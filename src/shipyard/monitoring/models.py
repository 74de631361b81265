"""Monitoring entities: profiles (mergeable histograms), drift results, thresholds. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from shipyard.errors import InvalidArgument

Kind = Literal["numeric", "categorical"]


class FeatureProfile(BaseModel):
    """One column's distribution: a fixed-edge histogram (numeric) or value counts.

    Numeric: ``edges`` are the reference's inner bin edges (its quantiles), so bin ``i``
    holds ``edges[i-1] <= x < edges[i]`` with open ends; two profiles with the same
    edges merge by adding ``counts``. Categorical: the ``top`` values and their counts;
    everything else is counted in ``other``.
    """

    name: str
    kind: Kind
    count: int  # non-null values
    nulls: int
    distinct: int
    edges: list[float] = Field(default_factory=list)
    counts: list[int] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    top: dict[str, int] = Field(default_factory=dict)
    other: int = 0

    @property
    def null_rate(self) -> float:
        total = self.count + self.nulls
        return self.nulls / total if total else 0.0


class Profile(BaseModel):
    """A table's (or a model version's training set's) per-feature reference profile."""

    id: str
    subject: str  # ``model:churn@3`` or ``table:gold.features@7``
    kind: Literal["model", "table"]
    name: str
    version: int
    source: str  # the lake table and Delta version the profile was computed from
    owner: str
    rows: int
    features: dict[str, FeatureProfile]
    created_at: datetime
    created_by: str


class Thresholds(BaseModel):
    """A feature drifts when a score reaches its threshold and its test is significant."""

    #: Population stability index over the reference deciles.
    psi: float = Field(default=0.2, gt=0)
    #: Jensen-Shannon distance (base 2, in [0, 1]) over the profile's bins.
    js: float = Field(default=0.1, gt=0, le=1)
    #: Kolmogorov-Smirnov statistic (numeric features only).
    ks: float = Field(default=0.1, gt=0, le=1)
    #: ... and only when the test (chi-square for PSI/JS, KS for KS) rejects at this level.
    pvalue: float = Field(default=0.01, gt=0, le=1)
    #: A window with fewer rows is reported as insufficient, never as drift.
    min_rows: int = Field(default=100, ge=1)

    @classmethod
    def merged(cls, base: dict[str, Any], overrides: Mapping[str, Any] | None) -> Thresholds:
        """``base`` (the settings') with ``overrides`` (a monitor's or a caller's) on top.

        Raises:
            InvalidArgument: an unknown threshold or a value out of its range.
        """
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise InvalidArgument(
                f"unknown threshold(s) {unknown} (known: {sorted(cls.model_fields)})"
            )
        try:
            return cls.model_validate({**base, **overrides})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidArgument(f"threshold {where}: {err['msg']}") from None


class FeatureDrift(BaseModel):
    feature: str
    kind: Kind
    n_reference: int
    n_current: int
    psi: float
    js: float
    chi2: float
    chi2_pvalue: float
    ks: float | None = None
    ks_pvalue: float | None = None
    null_rate_reference: float
    null_rate_current: float
    drifted: bool
    reasons: list[str] = Field(default_factory=list)


class DriftReport(BaseModel):
    """Drift of one deployment's window of the inference log against its reference."""

    id: str
    deployment: str
    model: str | None
    model_version: int | None
    reference: str | None  # the profile's subject
    window_start: datetime
    window_end: datetime
    rows: int
    status: Literal["ok", "drift", "insufficient_data", "no_reference"]
    thresholds: Thresholds
    features: list[FeatureDrift] = Field(default_factory=list)
    prediction: FeatureDrift | None = None
    message: str = ""
    seconds: float = 0.0
    created_at: datetime
    created_by: str

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "deployment": self.deployment,
            "status": self.status,
            "rows": self.rows,
            "drifted": self.drifted_features,
            "window_end": self.window_end,
        }


class PerformanceWindow(BaseModel):
    """One variant's figures over one bucket (or the whole window when ``start`` is its start)."""

    variant: str
    shadow: bool
    start: datetime
    end: datetime
    predictions: int
    labeled: int
    coverage: float
    accuracy: float | None = None
    auc: float | None = None
    rmse: float | None = None
    mae: float | None = None
    outcome_mean: float | None = None
    median_label_delay_s: float | None = None


class PerformanceReport(BaseModel):
    deployment: str
    task: Literal["classification", "regression"] | None
    window_start: datetime
    window_end: datetime
    bucket_seconds: float
    #: Per variant over the whole window.
    variants: list[PerformanceWindow] = Field(default_factory=list)
    #: Per bucket and variant, oldest first; buckets without predictions are left out.
    buckets: list[PerformanceWindow] = Field(default_factory=list)
    message: str = ""
