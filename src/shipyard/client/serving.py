"""``RemoteServingService``: ``ServingService``'s methods over HTTP."""

from __future__ import annotations

from typing import Any

from shipyard._internal.paging import Page
from shipyard.client.http import HttpTransport
from shipyard.serving.batch import BatchScoreResult
from shipyard.serving.models import Deployment, PredictResponse, Variant
from shipyard.serving.report import DeploymentReport

BASE = "/api/v1/deployments"
_UNSET: Any = object()


def _variants(variants: list[Variant] | None) -> list[dict[str, Any]] | None:
    return None if variants is None else [v.model_dump() for v in variants]


class RemoteServingService:
    def __init__(self, http: HttpTransport) -> None:
        self._http = http

    def create_deployment(
        self,
        name: str,
        *,
        variants: list[Variant],
        feature_service: str | None = None,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool = False,
        log_predictions: bool = True,
        owner: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        body = {
            "name": name,
            "variants": _variants(variants),
            "feature_service": feature_service,
            "entity_keys": entity_keys or [],
            "request_fields": request_fields or {},
            "require_features": require_features,
            "log_predictions": log_predictions,
            "owner": owner,
            "description": description,
        }
        return Deployment.model_validate(self._http.post(BASE, body))

    def update_deployment(
        self,
        name: str,
        *,
        variants: list[Variant] | None = None,
        feature_service: str | None = _UNSET,
        entity_keys: list[str] | None = None,
        request_fields: dict[str, str] | None = None,
        require_features: bool | None = None,
        log_predictions: bool | None = None,
        description: str | None = None,
    ) -> Deployment:
        body: dict[str, Any] = {
            k: v
            for k, v in {
                "variants": _variants(variants),
                "entity_keys": entity_keys,
                "request_fields": request_fields,
                "require_features": require_features,
                "log_predictions": log_predictions,
                "description": description,
            }.items()
            if v is not None
        }
        if feature_service is not _UNSET:
            body["feature_service"] = feature_service
        return Deployment.model_validate(self._http.patch(f"{BASE}/{name}", body))

    def rollback_deployment(self, name: str, *, to_version: int | None = None) -> Deployment:
        data = self._http.post(f"{BASE}/{name}/rollback", {"to_version": to_version})
        return Deployment.model_validate(data)

    def get_deployment(self, name: str) -> Deployment:
        return Deployment.model_validate(self._http.get(f"{BASE}/{name}"))

    def list_deployments(
        self, *, page_size: int = 50, page_token: str | None = None
    ) -> Page[Deployment]:
        data = self._http.get(BASE, page_size=page_size, page_token=page_token)
        return Page[Deployment].model_validate(data)

    def list_deployment_versions(self, name: str) -> list[Deployment]:
        return [Deployment.model_validate(d) for d in self._http.get(f"{BASE}/{name}/versions")]

    def delete_deployment(self, name: str) -> None:
        self._http.delete(f"{BASE}/{name}")

    def predict(
        self, name: str, inputs: list[dict[str, Any]], *, routing_key: str | None = None
    ) -> PredictResponse:
        headers = {"x-shipyard-routing-key": routing_key} if routing_key else None
        data = self._http.request(
            "POST", f"{BASE}/{name}/predict", json={"inputs": inputs}, headers=headers
        )
        return PredictResponse.model_validate(data)

    def deployment_stats(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._http.get(f"{BASE}/{name}/stats")
        return result

    def flush_prediction_log(self) -> int:
        return int(self._http.post(f"{BASE}/-/flush-log")["written"])

    def log_ground_truth(self, name: str, outcomes: list[dict[str, Any]]) -> int:
        data = self._http.post(f"{BASE}/{name}/ground-truth", {"outcomes": outcomes})
        return int(data["written"])

    def get_report(self, name: str) -> DeploymentReport:
        return DeploymentReport.model_validate(self._http.get(f"{BASE}/{name}/report"))

    def start_canary(
        self,
        name: str,
        variant: Variant,
        *,
        steps: list[int] | None = None,
        interval_s: float | None = None,
        max_error_rate: float = 0.05,
        max_p99_ms: float | None = None,
        min_requests: int = 20,
    ) -> Deployment:
        body = {
            "variant": variant.model_dump(),
            "steps": steps,
            "interval_s": interval_s,
            "max_error_rate": max_error_rate,
            "max_p99_ms": max_p99_ms,
            "min_requests": min_requests,
        }
        return Deployment.model_validate(self._http.post(f"{BASE}/{name}/canary", body))

    def advance_canary(self, name: str) -> Deployment:
        return Deployment.model_validate(self._http.post(f"{BASE}/{name}/canary/advance"))

    def rollback_canary(self, name: str, *, reason: str = "by command") -> Deployment:
        data = self._http.post(f"{BASE}/{name}/canary/rollback", {"reason": reason})
        return Deployment.model_validate(data)

    def score_table(
        self,
        model: str,
        source: str,
        output: str,
        *,
        version: int | None = None,
        keep_columns: list[str] | None = None,
        chunk_rows: int = 250_000,
    ) -> BatchScoreResult:
        body = {
            "model": model,
            "source": source,
            "output": output,
            "version": version,
            "keep_columns": keep_columns,
            "chunk_rows": chunk_rows,
        }
        return BatchScoreResult.model_validate(self._http.post(f"{BASE}/-/score-table", body))
