"""Tracking and registry entities in MLflow's REST JSON shapes (no I/O).

Artifact locations are given as ``mlflow-artifacts:/<key>`` so that a stock
MLflow client uploads and downloads through the server's artifact proxy.
"""

from __future__ import annotations

import math
from typing import Any

from shipyard.errors import (
    AlreadyExists,
    BackendUnavailable,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    ShipyardError,
    Unauthenticated,
)
from shipyard.registry.models import ModelVersion, RegisteredModel
from shipyard.tracking.models import Experiment, LoggedModel, Metric, Run

ARTIFACT_SCHEME = "mlflow-artifacts:/"

#: Shipyard error -> (MLflow error_code, HTTP status), as MLflow's server answers.
_ERRORS: list[tuple[type[ShipyardError], str, int]] = [
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (Conflict, "INVALID_PARAMETER_VALUE", 400),
    (InvalidArgument, "INVALID_PARAMETER_VALUE", 400),
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (PermissionDenied, "PERMISSION_DENIED", 403),
    (QuotaExceeded, "RESOURCE_EXHAUSTED", 429),
    (BackendUnavailable, "TEMPORARILY_UNAVAILABLE", 503),
]


def error_body(exc: ShipyardError) -> tuple[dict[str, Any], int]:
    for cls, code, status in _ERRORS:
        if isinstance(exc, cls):
            return {"error_code": code, "message": exc.message}, status
    return {"error_code": "INTERNAL_ERROR", "message": exc.message}, 500


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
