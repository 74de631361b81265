"""Tracking and registry entities in MLflow's REST JSON shapes, both ways (no I/O).

Artifact locations are given as ``mlflow-artifacts:/<key>`` so that a stock
MLflow client uploads and downloads through the server's artifact proxy.
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.registry.models import ModelVersion, RegisteredModel
from shipyard.tracking.models import Experiment, LoggedModel, Metric, Run

ARTIFACT_SCHEME = "mlflow-artifacts:/"


def artifact_uri(key: str) -> str:
    return ARTIFACT_SCHEME + key.lstrip("/")


def key_of(uri: str) -> str:
    return uri[len(ARTIFACT_SCHEME) :] if uri.startswith(ARTIFACT_SCHEME) else uri


def _kv(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in d.items()]


def experiment(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.id,
        "name": e.name,
        "artifact_location": artifact_uri(e.id),
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": _kv(e.tags),
    }


def _double(value: float) -> float | str:
    """Proto3 JSON for a double: NaN and infinities are strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def metric(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": _double(m.value), "timestamp": m.timestamp, "step": m.step}


def _double_in(value: Any, param: str = "value") -> float:
    try:
        if isinstance(value, str):
            return float({"Infinity": "inf", "-Infinity": "-inf"}.get(value, value))
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(value)
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidArgument(f"'{param}' must be a number", param=param) from None


def int_in(value: Any, param: str, *, lo: int = -(2**63), hi: int = 2**63 - 1) -> int:
    """An integer MLflow sends as a number or a decimal string, within ``lo..hi``."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(value)
        out = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(f"'{param}' must be an integer", param=param) from None
    if not lo <= out <= hi:
        raise InvalidArgument(f"'{param}' must be between {lo} and {hi}", param=param)
    return out


def metric_in(m: Any) -> dict[str, Any]:
    """A metric as ``TrackingService.log_batch`` takes it, from MLflow's JSON.

    ``model_id`` is kept: MLflow 3 re-sends a run's metrics with the id of the
    model it just logged, and the service must not append those to the run again.

    Raises:
        InvalidArgument: not an object with a string ``key``, or a value, step or
            timestamp of the wrong type.
    """
    if not isinstance(m, dict) or not isinstance(m.get("key"), str):
        raise InvalidArgument("a metric must be an object with a 'key' string")
    out = {
        "key": m["key"],
        "value": _double_in(m.get("value")),
        "step": int_in(m.get("step") or 0, "step"),
        "timestamp": int_in(m["timestamp"], "timestamp") if m.get("timestamp") else None,
    }
    if m.get("model_id"):
        out["model_id"] = str(m["model_id"])
    return out


def run(r: Run) -> dict[str, Any]:
    info = {
        "run_id": r.id,
        "run_uuid": r.id,
        "run_name": r.name,
        "experiment_id": r.experiment_id,
        "user_id": r.user,
        "status": r.status.value,
        "start_time": r.start_time,
        "artifact_uri": artifact_uri(f"{r.experiment_id}/{r.id}/artifacts"),
        "lifecycle_stage": r.lifecycle_stage,
    }
    if r.end_time is not None:
        info["end_time"] = r.end_time
    datasets = [
        {
            "tags": [{"key": "mlflow.data.context", "value": i.context}],
            "dataset": {
                "name": i.name,
                "digest": i.digest or (str(i.version) if i.version is not None else ""),
                "source_type": "shipyard"
                if i.kind != "dataset"
                else i.properties.get("source_type", "unknown"),
                "source": i.properties.get("source", i.ref),
                **({"schema": i.properties["schema"]} if "schema" in i.properties else {}),
            },
        }
        for i in r.inputs
    ]
    return {
        "info": info,
        "data": {
            "metrics": [metric(m) for m in r.latest_metrics],
            "params": _kv(r.params),
            "tags": _kv(r.tags),
        },
        "inputs": {"dataset_inputs": datasets},
    }


def logged_model(m: LoggedModel) -> dict[str, Any]:
    status = {
        "PENDING": "LOGGED_MODEL_PENDING",
        "READY": "LOGGED_MODEL_READY",
        "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    }.get(m.status, "LOGGED_MODEL_READY")
    info: dict[str, Any] = {
        "model_id": m.id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "artifact_uri": artifact_uri(m.artifact_location),
        "creation_timestamp_ms": m.creation_time,
        "last_updated_timestamp_ms": m.last_updated_time,
        "status": status,
        "lifecycle_stage": "active",
        "tags": _kv(m.tags),
    }
    if m.model_type:
        info["model_type"] = m.model_type
    if m.run_id:
        info["source_run_id"] = m.run_id
    return {"info": info, "data": {"params": _kv(m.params), "metrics": []}}


def _ms(dt: Any) -> int:
    return int(dt.timestamp() * 1000)


def model_version(v: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "version": str(v.version),
        "creation_timestamp": _ms(v.created_at),
        "last_updated_timestamp": _ms(v.updated_at),
        "user_id": v.created_by,
        "current_stage": "None",
        "description": v.description,
        "source": v.source,
        "status": v.status,
        "tags": _kv(v.tags),
        "aliases": v.aliases,
    }
    if v.run_id:
        out["run_id"] = v.run_id
    if v.source.startswith("models:/m-"):
        out["model_id"] = v.source[len("models:/") :]
    return out


def registered_model(
    m: RegisteredModel, latest: list[ModelVersion] | None = None
) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": _ms(m.created_at),
        "last_updated_timestamp": _ms(m.updated_at),
        "user_id": m.created_by,
        "description": m.description,
        "tags": _kv(m.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in sorted(m.aliases.items())],
        "latest_versions": [model_version(v) for v in latest or []],
    }


# -- requests: MLflow's JSON (or query string) -> service arguments ------------------------


def req(args: dict[str, Any], key: str) -> Any:
    """A required scalar parameter.

    Raises:
        InvalidArgument: missing, empty, or an object or list.
    """
    value = args.get(key)
    if value is None or value == "":
        raise InvalidArgument(f"missing value for required parameter '{key}'", param=key)
    if isinstance(value, dict | list):
        raise InvalidArgument(f"'{key}' must be a string or a number", param=key)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def tags_in(items: Any, what: str = "tags") -> dict[str, str]:
    """``[{"key": k, "value": v}, ...]`` -> ``{k: v}``."""
    out: dict[str, str] = {}
    for t in as_list(items):
        if not isinstance(t, dict) or not isinstance(t.get("key"), str) or not t["key"]:
            raise InvalidArgument(f"each of '{what}' must be an object with a 'key' string")
        out[t["key"]] = str(t.get("value", ""))
    return out


def page_size(args: dict[str, Any], default: int) -> int:
    value = args.get("max_results")
    return int_in(value, "max_results", lo=1, hi=50_000) if value not in (None, "") else default


def view(value: Any) -> str:
    """MLflow's ``view_type`` (name or number) -> ``active`` | ``deleted`` | ``all``."""
    return {
        "ACTIVE_ONLY": "active",
        "DELETED_ONLY": "deleted",
        "ALL": "all",
        "1": "active",
        "2": "deleted",
        "3": "all",
    }.get(str(value or "ACTIVE_ONLY"), "active")


def version_in(args: dict[str, Any]) -> int:
    return int_in(req(args, "version"), "version", lo=0, hi=2**53)
