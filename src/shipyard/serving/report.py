"""A/B evidence: per-variant traffic, latency, errors and outcome metrics with a test.

Aggregation runs in DuckDB over the inference log and the ground-truth table, so
a report reads sums and counts, not the rows. Outcomes join by request id and
row, else by entity key (the newest outcome for that entity).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

GT_BY_REQUEST = """
  SELECT request_id, "row", arg_max(outcome, ts) AS outcome
  FROM datasets.inference_ground_truth
  WHERE deployment = '{name}' AND request_id IS NOT NULL GROUP BY 1, 2"""
GT_BY_ENTITY = """
  SELECT entity_key, arg_max(outcome, ts) AS outcome
  FROM datasets.inference_ground_truth
  WHERE deployment = '{name}' AND request_id IS NULL AND entity_key IS NOT NULL GROUP BY 1"""


class VariantReport(BaseModel):
    variant: str
    shadow: bool
    requests: int
    errors: int
    error_rate: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    #: Scored rows with a known outcome.
    labeled: int = 0
    outcome_mean: float | None = None
    outcome_ci95: tuple[float, float] | None = None
    #: Mean squared error between prediction and outcome (the Brier score for probabilities).
    brier: float | None = None
    brier_ci95: tuple[float, float] | None = None
    #: Welch's t-test against the control variant (two-sided p-values).
    p_value_outcome: float | None = None
    p_value_brier: float | None = None


class DeploymentReport(BaseModel):
    deployment: str
    version: int
    control: str | None
    variants: list[VariantReport]

    def to_rows(self) -> list[dict[str, Any]]:
        return [v.model_dump() for v in self.variants]


def report_sql(name: str, *, with_ground_truth: bool) -> str:
    """``name`` must already be a validated deployment name (no quotes possible)."""
    if with_ground_truth:
        outcome = "COALESCE(gr.outcome, ge.outcome)"
        joins = (
            f"LEFT JOIN ({GT_BY_REQUEST.format(name=name)}) gr "
            'ON gr.request_id = l.request_id AND gr."row" = l."row" '
            f"LEFT JOIN ({GT_BY_ENTITY.format(name=name)}) ge ON ge.entity_key = l.entity_key"
        )
    else:
        outcome, joins = "CAST(NULL AS DOUBLE)", ""
    return f"""
WITH j AS (
  SELECT l.variant, l.shadow, l.request_id, l.latency_ms, l.error, l.prediction,
         {outcome} AS outcome
  FROM datasets.inference_log l {joins}
  WHERE l.deployment = '{name}'
)
SELECT variant, bool_or(shadow) AS shadow,
       count(DISTINCT request_id) AS requests,
       count(DISTINCT CASE WHEN error IS NOT NULL THEN request_id END) AS errors,
       quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95,
       quantile_cont(latency_ms, 0.99) AS p99,
       count(outcome) AS labeled, avg(outcome) AS o_mean, var_samp(outcome) AS o_var,
       avg(power(prediction - outcome, 2)) AS b_mean,
       var_samp(power(prediction - outcome, 2)) AS b_var
FROM j GROUP BY variant ORDER BY variant"""


def _ci(mean: float | None, var: float | None, n: int) -> tuple[float, float] | None:
    if mean is None or var is None or n < 2 or math.isnan(var):
        return None
    from scipy import stats

    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var / n)
    return (mean - half, mean + half)


def _welch(a: dict[str, Any], b: dict[str, Any], mean: str, var: str) -> float | None:
    na, nb = a["labeled"], b["labeled"]
    if na < 2 or nb < 2 or a[var] is None or b[var] is None:
        return None
    if a[var] == 0 and b[var] == 0:
        return None if a[mean] == b[mean] else 0.0
    from scipy import stats

    result = stats.ttest_ind_from_stats(
        a[mean], math.sqrt(a[var]), na, b[mean], math.sqrt(b[var]), nb, equal_var=False
    )
    return float(result.pvalue)


def build_report(
    name: str, version: int, control: str | None, rows: list[dict[str, Any]]
) -> DeploymentReport:
    """Turn the aggregate rows into confidence intervals and tests against ``control``."""
    by_variant = {r["variant"]: r for r in rows}
    base = by_variant.get(control) if control else None
    out = []
    for r in rows:
        compare = base is not None and r["variant"] != control
        out.append(
            VariantReport(
                variant=r["variant"],
                shadow=bool(r["shadow"]),
                requests=int(r["requests"]),
                errors=int(r["errors"]),
                error_rate=r["errors"] / r["requests"] if r["requests"] else 0.0,
                p50_ms=r["p50"],
                p95_ms=r["p95"],
                p99_ms=r["p99"],
                labeled=int(r["labeled"]),
                outcome_mean=r["o_mean"],
                outcome_ci95=_ci(r["o_mean"], r["o_var"], r["labeled"]),
                brier=r["b_mean"],
                brier_ci95=_ci(r["b_mean"], r["b_var"], r["labeled"]),
                p_value_outcome=_welch(base, r, "o_mean", "o_var") if compare and base else None,
                p_value_brier=_welch(base, r, "b_mean", "b_var") if compare and base else None,
            )
        )
    return DeploymentReport(deployment=name, version=version, control=control, variants=out)
