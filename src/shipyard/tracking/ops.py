"""Tracking's operation table: the client and the API routes are made from it (ADR 0015).

The MLflow REST API (``/api/2.0/mlflow/...``) is ``shipyard.api.mlflow``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from shipyard._internal.ops import Millis, Op, PageSize
from shipyard.tracking.models import Metric

EXPERIMENT = "/tracking/experiments/{experiment_id}"
RUN = "/tracking/runs/{run_id}"
TAGS = dict[str, str] | None


def _metrics(metrics: Iterable[Metric | Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [m.model_dump() if isinstance(m, Metric) else dict(m) for m in metrics]


def _strings(values: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Params and tags travel as strings."""
    return {k: str(v) for k, v in (values or {}).items()} or None


def _input_ref(data: Any) -> str:
    from shipyard.tracking.service import input_ref

    return input_ref(data)


def _experiments(experiments: Iterable[str] | str | None) -> list[str] | None:
    """One experiment's name, or several, travel as a list."""
    if experiments is None:
        return None
    return [experiments] if isinstance(experiments, str) else list(experiments)


def nan_metrics(data: Any) -> Any:
    """Metric values the server wrote as ``null`` (JSON has no NaN) back to NaN.

    A stored metric is never null, so in a run's ``metrics``, ``latest_metrics``
    or a metric history a ``null`` value can only have been NaN.
    """
    if isinstance(data, list):
        return [nan_metrics(d) for d in data]
    if not isinstance(data, dict):
        return data
    if "key" in data and "value" in data and data["value"] is None:
        return {**data, "value": math.nan}
    out = dict(data)
    if isinstance(out.get("metrics"), dict):
        out["metrics"] = {k: math.nan if v is None else v for k, v in out["metrics"].items()}
    for key in ("latest_metrics", "items"):
        if isinstance(out.get(key), list):
            out[key] = nan_metrics(out[key])
    return out


# ``create_experiment`` (no ``artifact_location`` over HTTP), ``set_run_lifecycle``
# (two routes) and ``put_artifact`` (a raw body) are written out on both sides.
OPS = {
    "list_experiments": Op("GET", "/tracking/experiments"),
    "get_experiment_by_name": Op("GET", "/tracking/experiments/by-name/{name}"),
    "get_experiment": Op("GET", EXPERIMENT),
    "update_experiment": Op("PATCH", EXPERIMENT, types={"tags": TAGS}),
    "create_run": Op(
        "POST",
        "/tracking/runs",
        status=201,
        decode=nan_metrics,
        types={"tags": TAGS, "start_time": Millis | None},
    ),
    "search_runs": Op(
        "POST",
        "/tracking/runs/search",
        encode={"experiments": _experiments},
        decode=nan_metrics,
        types={"experiments": list[str] | None, "limit": PageSize | None},
    ),
    "compare_runs": Op("POST", "/tracking/runs/compare"),
    "get_run": Op("GET", RUN, decode=nan_metrics),
    "update_run": Op(
        "PATCH", RUN, decode=nan_metrics, types={"status": str | None, "end_time": Millis | None}
    ),
    "log_batch": Op(
        "POST",
        RUN + "/log",
        unwrap="metrics_written",
        encode={"metrics": _metrics, "params": _strings, "tags": _strings},
        types={
            "metrics": list[dict[str, Any]],
            "params": dict[str, Any] | None,
            "tags": dict[str, Any] | None,
        },
    ),
    "delete_tag": Op("DELETE", RUN + "/tags/{key:path}"),
    "get_metric_history": Op("GET", RUN + "/metrics/{key:path}/history", decode=nan_metrics),
    "log_input": Op(
        "POST",
        RUN + "/inputs",
        status=201,
        wire={"data": "ref"},
        encode={"data": _input_ref},
        types={"data": str},
    ),
    "list_artifacts": Op("GET", RUN + "/artifacts"),
    "read_artifact": Op("GET", RUN + "/artifacts/content"),
    "record_model": Op("POST", RUN + "/models", status=201),
    "get_logged_model": Op("GET", "/tracking/logged-models/{model_id}"),
}
