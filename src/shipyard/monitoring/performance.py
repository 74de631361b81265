"""Model performance with delayed labels: predictions joined to the ground truth posted later.

A prediction's label is the newest outcome posted for its request id and row, else the
newest posted for its entity key (as the A/B report joins them). Metrics are computed per
variant over the whole window and per time bucket of the prediction's timestamp, so a
report run again after more labels arrived covers more of the same predictions:

- every task: ``rmse`` and ``mae`` of prediction vs outcome (for probabilities, RMSE is
  the square root of the Brier score);
- binary outcomes (all 0/1): ``accuracy`` of ``prediction >= 0.5`` and ``auc`` (ROC AUC of
  the prediction as a score; ``None`` while a bucket holds only one class);
- ``coverage`` (labelled / predictions) and the median label delay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from shipyard.monitoring.models import PerformanceReport, PerformanceWindow

LOG_COLUMNS = ["request_id", "row", "entity_key", "variant", "shadow", "ts", "prediction"]


def read_log(dt: Any, deployment: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The deployment's successful predictions (shadow ones too) with ``start <= ts < end``."""
    ts = ds.field("ts")
    where = (
        (ds.field("deployment") == deployment)
        & ds.field("error").is_null()
        & ds.field("prediction").is_valid()
        & (ts >= pa.scalar(start, pa.timestamp("us", tz="UTC")))
        & (ts < pa.scalar(end, pa.timestamp("us", tz="UTC")))
    )
    return dt.to_pyarrow_dataset().to_table(columns=LOG_COLUMNS, filter=where).to_pandas()


def read_labels(dt: Any | None, deployment: str) -> pd.DataFrame:
    cols = ["request_id", "row", "entity_key", "outcome", "ts"]
    if dt is None:
        return pd.DataFrame(columns=cols)
    data = dt.to_pyarrow_dataset()
    return data.to_table(columns=cols, filter=ds.field("deployment") == deployment).to_pandas()


def join(log: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``log`` with ``outcome`` and ``label_ts`` (NaN/NaT where no label arrived yet)."""
    newest = labels.sort_values("ts").rename(columns={"ts": "label_ts"})
    by_request = newest[newest.request_id.notna()].drop_duplicates(
        ["request_id", "row"], keep="last"
    )[["request_id", "row", "outcome", "label_ts"]]
    by_entity = newest[newest.request_id.isna() & newest.entity_key.notna()].drop_duplicates(
        "entity_key", keep="last"
    )[["entity_key", "outcome", "label_ts"]]
    out = log.merge(by_request, on=["request_id", "row"], how="left")
    out = out.merge(by_entity, on="entity_key", how="left", suffixes=("", "_entity"))
    missing = out.outcome.isna()
    out.loc[missing, "outcome"] = out.loc[missing, "outcome_entity"]
    out.loc[missing, "label_ts"] = out.loc[missing, "label_ts_entity"]
    return out.drop(columns=["outcome_entity", "label_ts_entity"])


def task_of(outcomes: pd.Series) -> Literal["classification", "regression"] | None:
    known = outcomes.dropna()
    if known.empty:
        return None
    return "classification" if known.isin([0.0, 1.0]).all() else "regression"


def figures(
    rows: pd.DataFrame, variant: str, start: datetime, end: datetime, task: str | None
) -> PerformanceWindow:
    labeled = rows[rows.outcome.notna()]
    n, k = len(rows), len(labeled)
    out = PerformanceWindow(
        variant=variant,
        shadow=bool(rows.shadow.any()),
        start=start,
        end=end,
        predictions=n,
        labeled=k,
        coverage=k / n if n else 0.0,
    )
    if not k:
        return out
    pred = labeled.prediction.to_numpy(np.float64)
    truth = labeled.outcome.to_numpy(np.float64)
    err = pred - truth
    out.rmse = float(np.sqrt(np.mean(err**2)))
    out.mae = float(np.mean(np.abs(err)))
    out.outcome_mean = float(truth.mean())
    delay = (labeled.label_ts - labeled.ts).dt.total_seconds()
    out.median_label_delay_s = float(delay.median())
    if task == "classification":
        out.accuracy = float(np.mean((pred >= 0.5) == (truth == 1.0)))
        if 0 < truth.sum() < k:
            from sklearn.metrics import roc_auc_score  # slow to import; only when needed

            out.auc = float(roc_auc_score(truth, pred))
    return out


def report(
    deployment: str,
    joined: pd.DataFrame,
    start: datetime,
    end: datetime,
    bucket_seconds: float,
) -> PerformanceReport:
    task = task_of(joined.outcome) if len(joined) else None
    out = PerformanceReport(
        deployment=deployment,
        task=task,
        window_start=start,
        window_end=end,
        bucket_seconds=bucket_seconds,
    )
    if joined.empty:
        out.message = "no predictions logged in the window"
        return out
    if task is None:
        out.message = "no ground truth for these predictions yet"
    span = pd.Timedelta(seconds=bucket_seconds)
    since = pd.Timestamp(start)
    joined = joined.assign(bucket=((joined.ts - since) // span).astype(np.int64))
    for variant, rows in joined.groupby("variant", sort=True):
        out.variants.append(figures(rows, str(variant), start, end, task))
    for (bucket, variant), rows in joined.groupby(["bucket", "variant"], sort=True):
        b_start = since + span * int(bucket)
        b_end = min(b_start + span, pd.Timestamp(end))
        out.buckets.append(
            figures(rows, str(variant), b_start.to_pydatetime(), b_end.to_pydatetime(), task)
        )
    return out
